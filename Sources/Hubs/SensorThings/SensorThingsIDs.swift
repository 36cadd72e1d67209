import Readings

/// SensorThings entity ids as the server gave them. FROST-Server uses
/// integers by default and strings or UUIDs when configured so
/// (`persistence.idGenerationMode`; ../shared/reference/hub/real-hubs.md), and
/// an id must go back with the JSON type it came with: `42` and `"42"` are
/// different ids to a server with integer ids.
///
/// An id is kept in its URL literal form: `42` for a number, `'abc'` for a
/// string. Ids remembered by earlier versions are bare (`0192…`, a UUID):
/// a bare id that is not all digits is a string.
enum SensorThingsID {
    /// `42` → `42`; `'abc'` → `'abc'`; bare `abc` (remembered before) → `'abc'`.
    static func literal(_ id: String) -> String {
        if isQuoted(id) || isNumber(id) { return id }
        return stringLiteral(id)
    }

    /// The id as JSON, with the type the server gave it.
    static func json(_ id: String) -> JSONText {
        if isQuoted(id) { return .string(unquoted(id)) }
        if isNumber(id), let value = Int64(id) { return .integer(value) }
        return .string(id)
    }

    /// An `@iot.id` from a JSON answer, kept as its literal.
    static func literal(fromJSON value: JSONAnswer?) -> String? {
        switch value {
        case let .string(text)? where !text.isEmpty:
            return stringLiteral(text)
        case let .integer(number)?:
            return String(number)
        default:
            return nil
        }
    }

    /// `.../Things('0192-...')` or `.../Things(42)` → `'0192-...'` / `42`.
    static func literal(fromLocation location: String) -> String? {
        guard let open = location.lastIndex(of: "("), let close = location.lastIndex(of: ")"), open < close else { return nil }
        let id = String(location[location.index(after: open)..<close])
        guard !id.isEmpty, isQuoted(id) || isNumber(id) else { return nil }
        return id
    }

    static func isQuoted(_ id: String) -> Bool { id.count >= 2 && id.hasPrefix("'") && id.hasSuffix("'") }
    static func isNumber(_ id: String) -> Bool { !id.isEmpty && id.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
    static func unquoted(_ id: String) -> String { String(id.dropFirst().dropLast()).replacing("''", with: "'") }

    /// An OData string literal: `'it''s'`.
    static func stringLiteral(_ text: String) -> String { "'\(text.replacing("'", with: "''"))'" }

    /// A query string from its parameters, each value percent-encoded so a
    /// name with `&`, `+` or `#` stays one value.
    static func query(_ parameters: [(String, String)]) -> String {
        parameters.map { "\($0.0)=\(PercentEncoding.encode($0.1, allowing: queryValueAllowed))" }.joined(separator: "&")
    }

    static let queryValueAllowed = PercentEncoding.queryAllowed.removing("&+=#")
}
