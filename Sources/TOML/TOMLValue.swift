/// A parsed TOML value. Floats keep their source text: citygate turns them
/// into exact fixed-point values itself (coordinates, scales), never Double.
public indirect enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case float(String)
    case bool(Bool)
    case array([TOMLValue])
    case table(TOMLTable)

    public var typeName: String {
        switch self {
        case .string: return "string"
        case .integer: return "integer"
        case .float: return "float"
        case .bool: return "boolean"
        case .array: return "array"
        case .table: return "table"
        }
    }
}

/// A table that remembers key order and the line each key was set on, so a
/// config error can point at the line.
public struct TOMLTable: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var value: TOMLValue
        public var line: Int
    }

    public private(set) var keys: [String] = []
    private var entries: [String: Entry] = [:]
    /// The line of the table header (`[section]`), or of the first key.
    public var line: Int

    public init(line: Int = 0) { self.line = line }

    /// A table built in code (a command-line option read as config would be).
    public init(entries: [(String, TOMLValue)]) {
        self.line = 0
        for (key, value) in entries { set(key, value, line: 0) }
    }

    public subscript(key: String) -> TOMLValue? { entries[key]?.value }
    public func entry(_ key: String) -> Entry? { entries[key] }

    mutating func set(_ key: String, _ value: TOMLValue, line: Int) {
        if entries[key] == nil { keys.append(key) }
        entries[key] = Entry(value: value, line: line)
    }

    /// `body` changes the value in place: no copy of it is made (a copy of
    /// an array of 100,000 tables per key parsed made a registry's load time
    /// grow with the square of its size).
    mutating func modify(_ key: String, _ body: (inout TOMLValue) throws -> Void) rethrows {
        guard entries[key] != nil else { return }
        try body(&entries[key]!.value)
    }
}

/// A syntax error, with the line and column where it was found.
public struct TOMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var message: String
    public var description: String { "line \(line), column \(column): \(message)" }
}
