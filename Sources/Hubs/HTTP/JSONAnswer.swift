import FoundationEssentials

/// A hub's JSON answer (a batch result, a page of entities, a token), read
/// with FoundationEssentials' JSONDecoder into a plain tree. citygate links
/// no full Foundation, so JSONSerialization is not there (PlainText says why).
/// Numbers keep their integer form when they have one: a SensorThings
/// `@iot.id` of 42 must go back as 42, and one past 2^53 must stay exact.
enum JSONAnswer: Decodable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONAnswer])
    case object([String: JSONAnswer])

    /// The answer in `body`, or nil when it is not JSON.
    static func parse(_ body: [UInt8]) -> JSONAnswer? {
        try? JSONDecoder().decode(JSONAnswer.self, from: Data(body))
    }

    init(from decoder: any Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: Key.self) {
            var members: [String: JSONAnswer] = [:]
            for key in keyed.allKeys { members[key.stringValue] = try keyed.decode(JSONAnswer.self, forKey: key) }
            self = .object(members)
        } else if var list = try? decoder.unkeyedContainer() {
            var items: [JSONAnswer] = []
            while !list.isAtEnd { items.append(try list.decode(JSONAnswer.self)) }
            self = .array(items)
        } else {
            let single = try decoder.singleValueContainer()
            if single.decodeNil() { self = .null }
            else if let value = try? single.decode(Bool.self) { self = .bool(value) }
            else if let value = try? single.decode(Int64.self) { self = .integer(value) }
            else if let value = try? single.decode(Double.self) { self = .number(value) }
            else { self = .string(try single.decode(String.self)) }
        }
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// A member of an object; nil for anything else or a missing key.
    subscript(key: String) -> JSONAnswer? {
        if case let .object(members) = self { return members[key] }
        return nil
    }

    var string: String? {
        if case let .string(text) = self { return text }
        return nil
    }

    var array: [JSONAnswer]? {
        if case let .array(items) = self { return items }
        return nil
    }

    var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    /// An integer, or a number with no fraction that fits one.
    var integer: Int64? {
        switch self {
        case let .integer(value): return value
        case let .number(value): return Int64(exactly: value)
        default: return nil
        }
    }

    var double: Double? {
        switch self {
        case let .integer(value): return Double(value)
        case let .number(value): return value
        default: return nil
        }
    }
}
