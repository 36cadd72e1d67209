/// A TOML 1.0 parser for configuration files: tables, arrays of tables,
/// dotted and quoted keys, basic and literal strings (single- and
/// multi-line), integers (decimal, hex, octal, binary, `_` separators),
/// floats (kept as text), booleans, arrays and inline tables. Dates and
/// times are rejected with a clear error (no citygate key takes one).
public struct TOMLParser {
    let bytes: [UInt8]
    var position = 0
    var line = 1
    var lineStart = 0
    /// Tables defined by a header or by key assignment, so a second `[a]` is an error.
    var definedTables: Set<[String]> = []
    /// Arrays and inline tables open around the current value.
    var nesting = 0

    /// Limits that keep a broken or hostile file from exhausting the stack or
    /// memory (the parser and the table walk recurse): a SIGHUP with such a
    /// file is refused like any other error. A 100,000-device registry is
    /// about 15 MB, and nothing real nests more than a few levels.
    public static let maxBytes = 64 << 20
    public static let maxNesting = 32
    public static let maxKeyParts = 32

    public static func parse(_ text: String) throws(TOMLError) -> TOMLTable {
        try parse(bytes: Array(text.utf8))
    }

    /// Parses UTF-8 bytes. With `streaming`, each table of a top-level
    /// array of tables named there (`[[device]]`) is handed to `each` as soon
    /// as it is complete (at the next header, or at the end), with its
    /// 1-based position, and is not kept: the returned document holds that
    /// array empty. A 100,000-device registry is then never held as a tree
    /// (about 1.5 KB per device). A header that reaches into a streamed table
    /// after it (`[device.more]`) is an error, as it would be in no registry.
    public static func parse(bytes: [UInt8], streaming: Set<String> = [],
                             each: (_ name: String, _ position: Int, _ table: TOMLTable) -> Void = { _, _, _ in }) throws(TOMLError) -> TOMLTable {
        guard bytes.count <= maxBytes else {
            throw TOMLError(line: 1, column: 1, message: "the file is \(bytes.count) bytes; at most \(maxBytes) are read")
        }
        var parser = TOMLParser(bytes: bytes, streaming: streaming)
        return try parser.document(each: each)
    }

    /// Arrays of tables whose tables go to the caller one by one.
    let streaming: Set<String>

    private init(bytes: [UInt8], streaming: Set<String>) {
        self.bytes = bytes
        self.streaming = streaming
    }

    /// Whether `bytes` is well-formed UTF-8 (the parser reads bytes; a file
    /// that is not text is refused before it is parsed, as String's own
    /// validation would).
    public static func isUTF8(_ bytes: [UInt8]) -> Bool {
        var iterator = bytes.makeIterator()
        var decoder = Unicode.UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    // MARK: - Helpers

    var current: UInt8? { position < bytes.count ? bytes[position] : nil }
    func peek(_ offset: Int) -> UInt8? { position + offset < bytes.count ? bytes[position + offset] : nil }

    func error(_ message: String) -> TOMLError {
        TOMLError(line: line, column: position - lineStart + 1, message: message)
    }

    mutating func advance() {
        if current == UInt8(ascii: "\n") {
            line += 1
            lineStart = position + 1
        }
        position += 1
    }

    mutating func skipSpaces() {
        while let c = current, c == 0x20 || c == 0x09 { advance() }
    }

    mutating func skipComment() throws(TOMLError) {
        if current == UInt8(ascii: "#") {
            while let c = current, c != 0x0A {
                if c < 0x20 && c != 0x09 && c != 0x0D { throw error("control character in comment") }
                advance()
            }
        }
    }

    /// Spaces, newlines and comments (inside arrays).
    mutating func skipBlank() throws(TOMLError) {
        while true {
            skipSpaces()
            try skipComment()
            if let c = current, c == 0x0A || c == 0x0D { advance() } else { return }
        }
    }

    mutating func expectLineEnd() throws(TOMLError) {
        skipSpaces()
        try skipComment()
        if current == 0x0D { advance() }
        guard current == nil || current == 0x0A else {
            throw error("expected the end of the line, found '\(String(decoding: [current!], as: UTF8.self))'")
        }
        if current == 0x0A { advance() }
    }

    static func isBareKey(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x5F || c == 0x2D
    }

    // MARK: - Document

    mutating func document(each: (_ name: String, _ position: Int, _ table: TOMLTable) -> Void) throws(TOMLError) -> TOMLTable {
        var root = TOMLTable(line: 1)
        var currentPath: [String] = []
        /// The streamed table being filled, and how many of its array came before it.
        var open: (name: String, position: Int)?
        var handedOut: [String: Int] = [:]
        func handOver() {
            guard let (name, position) = open else { return }
            open = nil
            root.modify(name) { value in
                guard var items = Self.takeArray(&value) else { return }
                if let last = items.popLast(), case let .table(table) = last { each(name, position, table) }
                value = .array(items)
            }
        }
        while true {
            try skipBlank()
            guard let c = current else { break }
            if c == UInt8(ascii: "[") {
                handOver()
                let headerLine = line
                advance()
                let isArray = current == UInt8(ascii: "[")
                if isArray { advance() }
                skipSpaces()
                let path = try key()
                skipSpaces()
                guard current == UInt8(ascii: "]") else { throw error("expected ']' to close the table header") }
                advance()
                if isArray {
                    guard current == UInt8(ascii: "]") else { throw error("expected ']]' to close the array-of-tables header") }
                    advance()
                }
                try expectLineEnd()
                if isArray {
                    try appendTable(&root, path: path, line: headerLine)
                    if path.count == 1, streaming.contains(path[0]) {
                        let position = handedOut[path[0], default: 0] + 1
                        handedOut[path[0]] = position
                        open = (path[0], position)
                    }
                } else {
                    guard !definedTables.contains(path) else {
                        throw TOMLError(line: headerLine, column: 1, message: "table [\(path.joined(separator: "."))] is defined twice")
                    }
                    definedTables.insert(path)
                    try ensureTable(&root, path: path, line: headerLine)
                }
                currentPath = path
            } else {
                let keyLine = line
                let path = try key()
                skipSpaces()
                guard current == UInt8(ascii: "=") else { throw error("expected '=' after key '\(path.joined(separator: "."))'") }
                advance()
                skipSpaces()
                let value = try value()
                try expectLineEnd()
                try insert(&root, at: currentPath, key: path, value: value, line: keyLine)
            }
        }
        handOver()
        return root
    }

    mutating func key() throws(TOMLError) -> [String] {
        var parts: [String] = []
        while true {
            skipSpaces()
            guard let c = current else { throw error("expected a key") }
            if c == UInt8(ascii: "\"") {
                parts.append(try basicString())
            } else if c == UInt8(ascii: "'") {
                parts.append(try literalString())
            } else if Self.isBareKey(c) {
                let start = position
                while let c = current, Self.isBareKey(c) { advance() }
                parts.append(String(decoding: bytes[start..<position], as: UTF8.self))
            } else {
                throw error("expected a key, found '\(String(decoding: [c], as: UTF8.self))'")
            }
            skipSpaces()
            guard parts.count <= Self.maxKeyParts else { throw error("a key of more than \(Self.maxKeyParts) dotted parts") }
            if current == UInt8(ascii: ".") { advance() } else { return parts }
        }
    }

    // MARK: - Building tables

    /// Walks to the table at `path` inside `table`, creating it, descending
    /// into the last element of arrays of tables.
    func walk(_ table: inout TOMLTable, path: ArraySlice<String>, line: Int, create: Bool,
                      _ body: (inout TOMLTable) throws(TOMLError) -> Void) throws(TOMLError) {
        guard let head = path.first else { return try body(&table) }
        let rest = path.dropFirst()
        if table[head] == nil {
            guard create else { throw TOMLError(line: line, column: 1, message: "no table '\(head)'") }
            table.set(head, .table(TOMLTable(line: line)), line: line)
        }
        var failure: TOMLError?
        // The table or array is taken out of its place while it changes (a
        // placeholder stands in), so it is the only reference to its storage
        // and grows in place instead of being copied per key.
        table.modify(head) { value in
            do {
                if var inner = Self.takeTable(&value) {
                    defer { value = .table(inner) }
                    try walk(&inner, path: rest, line: line, create: create, body)
                } else if var items = Self.takeArray(&value) {
                    defer { value = .array(items) }
                    guard let lastIndex = items.indices.last, var last = Self.takeTable(&items[lastIndex]) else {
                        throw TOMLError(line: line, column: 1, message: "key '\(head)' is an array of values, not of tables")
                    }
                    defer { items[lastIndex] = .table(last) }
                    try walk(&last, path: rest, line: line, create: create, body)
                } else {
                    throw TOMLError(line: line, column: 1, message: "key '\(head)' is a \(value.typeName), not a table")
                }
            } catch let error as TOMLError {
                failure = error
            } catch {}
        }
        if let failure { throw failure }
    }

    /// The table in `value`, leaving a placeholder there (nil, and `value`
    /// untouched, when it holds no table).
    static func takeTable(_ value: inout TOMLValue) -> TOMLTable? {
        guard case let .table(inner) = value else { return nil }
        value = .integer(0)
        return inner
    }

    /// The array in `value`, leaving a placeholder there.
    static func takeArray(_ value: inout TOMLValue) -> [TOMLValue]? {
        guard case let .array(items) = value else { return nil }
        value = .integer(0)
        return items
    }

    func ensureTable(_ root: inout TOMLTable, path: [String], line: Int) throws(TOMLError) {
        try walk(&root, path: path[...], line: line, create: true) { _ throws(TOMLError) in }
    }

    func appendTable(_ root: inout TOMLTable, path: [String], line: Int) throws(TOMLError) {
        let parent = path.dropLast()
        let name = path[path.count - 1]
        try walk(&root, path: parent, line: line, create: true) { (table: inout TOMLTable) throws(TOMLError) in
            // What is there decides; no copy of it is kept past this line, so
            // the append below changes the array in place.
            let existing = Self.shape(of: table[name])
            switch existing {
            case .absent:
                table.set(name, .array([.table(TOMLTable(line: line))]), line: line)
            case .arrayOfTables:
                table.modify(name) { value in
                    guard var grown = Self.takeArray(&value) else { return }
                    grown.append(.table(TOMLTable(line: line)))
                    value = .array(grown)
                }
            case .arrayOfValues:
                throw TOMLError(line: line, column: 1, message: "'\(name)' is an array of values, not of tables")
            case let .other(typeName):
                throw TOMLError(line: line, column: 1, message: "'\(name)' is already a \(typeName)")
            }
        }
    }

    enum Shape { case absent, arrayOfTables, arrayOfValues, other(String) }

    /// An array of tables holds only tables (appending is what made it), so
    /// its ends tell: checking every item made each `[[table]]` cost O(n).
    static func shape(of value: TOMLValue?) -> Shape {
        guard let value else { return .absent }
        guard case let .array(items) = value else { return .other(value.typeName) }
        func isTable(_ item: TOMLValue) -> Bool { if case .table = item { true } else { false } }
        return (items.first.map(isTable) ?? true) && (items.last.map(isTable) ?? true) ? .arrayOfTables : .arrayOfValues
    }

    mutating func insert(_ root: inout TOMLTable, at tablePath: [String], key: [String], value: TOMLValue, line: Int) throws(TOMLError) {
        let full = tablePath + key
        let parent = full.dropLast()
        let name = full[full.count - 1]
        for index in tablePath.count..<(full.count - 1) { definedTables.insert(Array(full[...index])) }
        try walk(&root, path: parent, line: line, create: true) { (table: inout TOMLTable) throws(TOMLError) in
            if table[name] != nil {
                throw TOMLError(line: line, column: 1, message: "key '\(full.joined(separator: "."))' is set twice")
            }
            table.set(name, value, line: line)
        }
    }
}
