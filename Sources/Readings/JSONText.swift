/// A JSON value written by citygate. Numbers are kept as the exact decimal
/// text they were made from, so a hub receives `21.35`, never `21.349999`.
public indirect enum JSONText: Sendable, Equatable {
    case string(String)
    /// An exact decimal, written as is (`21.35`, `-3`, `776`).
    case number(String)
    case bool(Bool)
    case null
    case array([JSONText])
    /// Keys in the order given, so bodies are stable and diffable.
    case object([(String, JSONText)])

    public static func == (a: JSONText, b: JSONText) -> Bool { a.serialized() == b.serialized() }

    public static func integer(_ value: Int64) -> JSONText { .number(String(value)) }

    /// A canonical fixed-point value as an exact JSON number.
    public static func decimal(_ units: Int64, decimals: Int) -> JSONText {
        .number(FixedPoint.decimalString(units, decimals: decimals))
    }

    public func serialized() -> String {
        var out = ""
        write(to: &out)
        return out
    }

    public func write(to out: inout String) {
        switch self {
        case let .string(text): Self.writeString(text, to: &out)
        case let .number(text): out += text
        case let .bool(flag): out += flag ? "true" : "false"
        case .null: out += "null"
        case let .array(items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case let .object(members):
            out += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out += "," }
                Self.writeString(key, to: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    /// Appends `text` as a JSON string. Runs that need no escaping (nearly
    /// every key and value citygate writes) are appended whole: appending
    /// scalar by scalar made string building most of the simulator's CPU.
    /// The scan is over UTF-8 bytes: every byte that needs escaping is ASCII,
    /// and an ASCII byte is never part of a multi-byte scalar, so runs end on
    /// scalar boundaries.
    static func writeString(_ text: String, to out: inout String) {
        out += "\""
        let bytes = text.utf8
        var runStart = bytes.startIndex
        var index = runStart
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte >= 0x20, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
                bytes.formIndex(after: &index)
                continue
            }
            // Sliced as scalars, not as a String: String's subscript rounds to
            // grapheme boundaries and would swallow a quote followed by a
            // combining mark.
            out += Substring(text.unicodeScalars[runStart..<index])
            switch byte {
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "\\"): out += "\\\\"
            case UInt8(ascii: "\n"): out += "\\n"
            case UInt8(ascii: "\r"): out += "\\r"
            case UInt8(ascii: "\t"): out += "\\t"
            default:
                let hex = String(byte, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
            bytes.formIndex(after: &index)
            runStart = index
        }
        out += Substring(text.unicodeScalars[runStart..<index])
        out += "\""
    }
}
