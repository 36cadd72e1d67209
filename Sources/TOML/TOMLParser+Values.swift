/// Values: strings (basic, literal, multi-line), numbers, booleans, arrays
/// and inline tables.
extension TOMLParser {
    mutating func value() throws(TOMLError) -> TOMLValue {
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

    func matches(_ word: String) -> Bool {
        let w = Array(word.utf8)
        guard position + w.count <= bytes.count, Array(bytes[position..<position + w.count]) == w else { return false }
        if let next = position + w.count < bytes.count ? bytes[position + w.count] : nil, Self.isBareKey(next) { return false }
        return true
    }

    mutating func number() throws(TOMLError) -> TOMLValue {
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

    mutating func basicString() throws(TOMLError) -> String {
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

    mutating func escape(into out: inout [UInt8]) throws(TOMLError) {
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

    mutating func literalString() throws(TOMLError) -> String {
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

    mutating func multilineString(literal: Bool) throws(TOMLError) -> String {
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

    /// One more array or inline table open; an error past `maxNesting`.
    mutating func enterNested() throws(TOMLError) {
        nesting += 1
        if nesting > Self.maxNesting { throw error("arrays or inline tables nested more than \(Self.maxNesting) deep") }
    }

    mutating func array() throws(TOMLError) -> TOMLValue {
        try enterNested()
        defer { nesting -= 1 }
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

    mutating func inlineTable() throws(TOMLError) -> TOMLValue {
        try enterNested()
        defer { nesting -= 1 }
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

    func insertInline(_ table: inout TOMLTable, key: [String], value: TOMLValue, line: Int) throws(TOMLError) {
        let name = key[key.count - 1]
        try walk(&table, path: key.dropLast(), line: line, create: true) { (inner: inout TOMLTable) throws(TOMLError) in
            if inner[name] != nil { throw TOMLError(line: line, column: 1, message: "key '\(name)' is set twice") }
            inner.set(name, value, line: line)
        }
    }
}
