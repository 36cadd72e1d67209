/// A TOML 1.0 parser for configuration files: tables, arrays of tables,
/// dotted and quoted keys, basic and literal strings (single- and
/// multi-line), integers (decimal, hex, octal, binary, `_` separators),
/// floats (kept as text), booleans, arrays and inline tables. Dates and
/// times are rejected with a clear error (no citygate key takes one).
public struct TOMLParser {
    private let bytes: [UInt8]
    private var position = 0
    private var line = 1
    private var lineStart = 0
    /// Tables defined by a header or by key assignment, so a second `[a]` is an error.
    private var definedTables: Set<[String]> = []

    public static func parse(_ text: String) throws(TOMLError) -> TOMLTable {
        var parser = TOMLParser(bytes: Array(text.utf8))
        return try parser.document()
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    // MARK: - Helpers

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }
    private func peek(_ offset: Int) -> UInt8? { position + offset < bytes.count ? bytes[position + offset] : nil }

    private func error(_ message: String) -> TOMLError {
        TOMLError(line: line, column: position - lineStart + 1, message: message)
    }

    private mutating func advance() {
        if current == UInt8(ascii: "\n") {
            line += 1
            lineStart = position + 1
        }
        position += 1
    }

    private mutating func skipSpaces() {
        while let c = current, c == 0x20 || c == 0x09 { advance() }
    }

    private mutating func skipComment() throws(TOMLError) {
        if current == UInt8(ascii: "#") {
            while let c = current, c != 0x0A {
                if c < 0x20 && c != 0x09 && c != 0x0D { throw error("control character in comment") }
                advance()
            }
        }
    }

    /// Spaces, newlines and comments (inside arrays).
    private mutating func skipBlank() throws(TOMLError) {
        while true {
            skipSpaces()
            try skipComment()
            if let c = current, c == 0x0A || c == 0x0D { advance() } else { return }
        }
    }

    private mutating func expectLineEnd() throws(TOMLError) {
        skipSpaces()
        try skipComment()
        if current == 0x0D { advance() }
        guard current == nil || current == 0x0A else {
            throw error("expected the end of the line, found '\(String(decoding: [current!], as: UTF8.self))'")
        }
        if current == 0x0A { advance() }
    }

    private static func isBareKey(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x5F || c == 0x2D
    }

    // MARK: - Document

    private mutating func document() throws(TOMLError) -> TOMLTable {
        var root = TOMLTable(line: 1)
        var currentPath: [String] = []
        while true {
            try skipBlank()
            guard let c = current else { break }
            if c == UInt8(ascii: "[") {
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
        return root
    }

    private mutating func key() throws(TOMLError) -> [String] {
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
            if current == UInt8(ascii: ".") { advance() } else { return parts }
        }
    }

    // MARK: - Building tables

    /// Walks to the table at `path` inside `table`, creating it, descending
    /// into the last element of arrays of tables.
    private func walk(_ table: inout TOMLTable, path: ArraySlice<String>, line: Int, create: Bool,
                      _ body: (inout TOMLTable) throws(TOMLError) -> Void) throws(TOMLError) {
        guard let head = path.first else { return try body(&table) }
        let rest = path.dropFirst()
        if table[head] == nil {
            guard create else { throw TOMLError(line: line, column: 1, message: "no table '\(head)'") }
            table.set(head, .table(TOMLTable(line: line)), line: line)
        }
        var failure: TOMLError?
        table.modify(head) { value in
            do {
                switch value {
                case var .table(inner):
                    try walk(&inner, path: rest, line: line, create: create, body)
                    value = .table(inner)
                case var .array(items) where !items.isEmpty:
                    guard case var .table(last) = items[items.count - 1] else {
                        throw TOMLError(line: line, column: 1, message: "key '\(head)' is an array of values, not of tables")
                    }
                    try walk(&last, path: rest, line: line, create: create, body)
                    items[items.count - 1] = .table(last)
                    value = .array(items)
                default:
                    throw TOMLError(line: line, column: 1, message: "key '\(head)' is a \(value.typeName), not a table")
                }
            } catch let error as TOMLError {
                failure = error
            } catch {}
        }
        if let failure { throw failure }
    }

    private func ensureTable(_ root: inout TOMLTable, path: [String], line: Int) throws(TOMLError) {
        try walk(&root, path: path[...], line: line, create: true) { _ throws(TOMLError) in }
    }

    private func appendTable(_ root: inout TOMLTable, path: [String], line: Int) throws(TOMLError) {
        let parent = path.dropLast()
        let name = path[path.count - 1]
        try walk(&root, path: parent, line: line, create: true) { (table: inout TOMLTable) throws(TOMLError) in
            switch table[name] {
            case nil:
                table.set(name, .array([.table(TOMLTable(line: line))]), line: line)
            case var .array(items)?:
                guard items.allSatisfy({ if case .table = $0 { return true } else { return false } }) else {
                    throw TOMLError(line: line, column: 1, message: "'\(name)' is an array of values, not of tables")
                }
                items.append(.table(TOMLTable(line: line)))
                table.set(name, .array(items), line: table.entry(name)?.line ?? line)
            case let other?:
                throw TOMLError(line: line, column: 1, message: "'\(name)' is already a \(other.typeName)")
            }
        }
    }

    private mutating func insert(_ root: inout TOMLTable, at tablePath: [String], key: [String], value: TOMLValue, line: Int) throws(TOMLError) {
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

    // MARK: - Values

    private mutating func value() throws(TOMLError) -> TOMLValue {
        guard let c = current else { throw error("expected a value") }
        switch c {
        case UInt8(ascii: "\""):
            if peek(1) == UInt8(ascii: "\""), peek(2) == UInt8(ascii: "\"") { return .string(try multilineString(literal: false)) }
            return .string(try basicString())
        case UInt8(ascii: "'"):
            if peek(1) == UInt8(ascii: "'"), peek(2) == UInt8(ascii: "'") { return .string(try multilineString(literal: true)) }
            return .string(try literalString())
        case UInt8(ascii: "["):
            return try array()
        case UInt8(ascii: "{"):
            return try inlineTable()
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            if matches("true") { position += 4; return .bool(true) }
            if matches("false") { position += 5; return .bool(false) }
            throw error("expected a value (strings need quotes)")
        default:
            return try number()
        }
    }

    private func matches(_ word: String) -> Bool {
        let w = Array(word.utf8)
        guard position + w.count <= bytes.count, Array(bytes[position..<position + w.count]) == w else { return false }
        if let next = position + w.count < bytes.count ? bytes[position + w.count] : nil, Self.isBareKey(next) { return false }
        return true
    }

    private mutating func number() throws(TOMLError) -> TOMLValue {
        let start = position
        while let c = current, Self.isBareKey(c) || c == UInt8(ascii: "+") || c == UInt8(ascii: ".") || c == UInt8(ascii: ":") { advance() }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if text.isEmpty { throw error("expected a value") }
        if text.contains(":") || (text.count >= 10 && text.dropFirst(4).first == "-" && text.first?.isNumber == true) {
            throw error("dates and times are not supported here: '\(text)'")
        }
        if text == "inf" || text == "+inf" || text == "-inf" || text.hasSuffix("nan") {
            throw error("'\(text)' is not a finite number")
        }
        let isHexLike = text.hasPrefix("0x") || text.hasPrefix("0o") || text.hasPrefix("0b")
        if !isHexLike && (text.contains(".") || text.contains("e") || text.contains("E")) {
            guard Self.isValidFloat(text) else { throw error("'\(text)' is not a number") }
            return .float(String(text.filter { $0 != "_" }))
        }
        guard let value = Self.integer(text) else { throw error("'\(text)' is not an integer that fits in 64 bits") }
        return .integer(value)
    }

    static func isValidFloat(_ text: String) -> Bool {
        var t = Substring(text)
        if t.first == "+" || t.first == "-" { t = t.dropFirst() }
        let parts = t.split(separator: "e", maxSplits: 1, omittingEmptySubsequences: false)
            .flatMap { $0.split(separator: "E", maxSplits: 1, omittingEmptySubsequences: false) }
        guard let mantissa = parts.first, !mantissa.isEmpty else { return false }
        let digitsOK: (Substring) -> Bool = { s in !s.isEmpty && s.first != "_" && s.last != "_" && s.allSatisfy { $0.isASCII && ($0.isNumber || $0 == "_") } }
        let m = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        guard m.count <= 2, m.allSatisfy(digitsOK) else { return false }
        if parts.count == 2 {
            var e = parts[1]
            if e.first == "+" || e.first == "-" { e = e.dropFirst() }
            return digitsOK(e)
        }
        return true
    }

    static func integer(_ text: String) -> Int64? {
        var t = Substring(text)
        var negative = false
        if t.first == "+" || t.first == "-" { negative = t.first == "-"; t = t.dropFirst() }
        var radix = 10
        if t.hasPrefix("0x") { radix = 16; t = t.dropFirst(2) }
        else if t.hasPrefix("0o") { radix = 8; t = t.dropFirst(2) }
        else if t.hasPrefix("0b") { radix = 2; t = t.dropFirst(2) }
        else if t.count > 1 && t.hasPrefix("0") { return nil }  // no leading zeros
        if t.isEmpty || t.first == "_" || t.last == "_" || t.contains("__") { return nil }
        if radix != 10 && negative { return nil }
        guard let magnitude = UInt64(String(t.filter { $0 != "_" }), radix: radix) else { return nil }
        if negative {
            return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    private mutating func basicString() throws(TOMLError) -> String {
        advance()  // opening quote
        var out: [UInt8] = []
        while true {
            guard let c = current else { throw error("unterminated string") }
            if c == 0x0A { throw error("newline in a single-line string") }
            if c == UInt8(ascii: "\"") { advance(); break }
            if c == UInt8(ascii: "\\") {
                advance()
                try escape(into: &out)
                continue
            }
            if c < 0x20 && c != 0x09 { throw error("control character in string") }
            out.append(c)
            advance()
        }
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func escape(into out: inout [UInt8]) throws(TOMLError) {
        guard let e = current else { throw error("unterminated escape") }
        advance()
        switch e {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = e == UInt8(ascii: "u") ? 4 : 8
            guard position + count <= bytes.count,
                  let code = UInt32(String(decoding: bytes[position..<position + count], as: UTF8.self), radix: 16),
                  let scalar = Unicode.Scalar(code) else { throw error("invalid unicode escape") }
            for _ in 0..<count { advance() }
            out += Array(String(Character(scalar)).utf8)
        default:
            throw error("invalid escape '\\\(String(decoding: [e], as: UTF8.self))'")
        }
    }

    private mutating func literalString() throws(TOMLError) -> String {
        advance()
        let start = position
        while let c = current, c != UInt8(ascii: "'") {
            if c == 0x0A { throw error("newline in a single-line string") }
            advance()
        }
        guard current != nil else { throw error("unterminated string") }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        advance()
        return text
    }

    private mutating func multilineString(literal: Bool) throws(TOMLError) -> String {
        let quote = literal ? UInt8(ascii: "'") : UInt8(ascii: "\"")
        advance(); advance(); advance()
        if current == 0x0D { advance() }
        if current == 0x0A { advance() }  // a newline right after the opening is trimmed
        var out: [UInt8] = []
        while true {
            guard let c = current else { throw error("unterminated multi-line string") }
            if c == quote, peek(1) == quote, peek(2) == quote {
                advance(); advance(); advance()
                // Up to two more quotes belong to the content.
                while current == quote, out.count < Int.max { out.append(quote); advance() }
                break
            }
            if !literal && c == UInt8(ascii: "\\") {
                advance()
                if let n = current, n == 0x20 || n == 0x09 || n == 0x0A || n == 0x0D {
                    while let w = current, w == 0x20 || w == 0x09 || w == 0x0A || w == 0x0D { advance() }
                } else {
                    try escape(into: &out)
                }
                continue
            }
            out.append(c)
            advance()
        }
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func array() throws(TOMLError) -> TOMLValue {
        advance()
        var items: [TOMLValue] = []
        while true {
            try skipBlank()
            if current == UInt8(ascii: "]") { advance(); return .array(items) }
            items.append(try value())
            try skipBlank()
            if current == UInt8(ascii: ",") { advance(); continue }
            if current == UInt8(ascii: "]") { advance(); return .array(items) }
            throw error("expected ',' or ']' in array")
        }
    }

    private mutating func inlineTable() throws(TOMLError) -> TOMLValue {
        let tableLine = line
        advance()
        var table = TOMLTable(line: tableLine)
        skipSpaces()
        if current == UInt8(ascii: "}") { advance(); return .table(table) }
        while true {
            skipSpaces()
            let keyLine = line
            let path = try key()
            skipSpaces()
            guard current == UInt8(ascii: "=") else { throw error("expected '=' in inline table") }
            advance()
            skipSpaces()
            let item = try value()
            var nested = table
            try insertInline(&nested, key: path, value: item, line: keyLine)
            table = nested
            skipSpaces()
            if current == UInt8(ascii: ",") { advance(); continue }
            if current == UInt8(ascii: "}") { advance(); return .table(table) }
            throw error("expected ',' or '}' in inline table")
        }
    }

    private func insertInline(_ table: inout TOMLTable, key: [String], value: TOMLValue, line: Int) throws(TOMLError) {
        let name = key[key.count - 1]
        try walk(&table, path: key.dropLast(), line: line, create: true) { (inner: inout TOMLTable) throws(TOMLError) in
            if inner[name] != nil { throw TOMLError(line: line, column: 1, message: "key '\(name)' is set twice") }
            inner.set(name, value, line: line)
        }
    }
}
