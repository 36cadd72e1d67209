import Readings

/// A small streaming JSON reader for envelopes: it walks the document once,
/// hands the caller each object key, and skips every value the caller does
/// not ask for without building it. Envelopes carry a few fields that matter
/// among dozens that do not (rxInfo metadata, txInfo, ...), so this is
/// several times faster than decoding the whole document, and allocates only
/// for the values taken.
///
/// It accepts RFC 8259 JSON; anything else is a `SyntaxError` with the byte
/// offset. Nesting is capped so a hostile document cannot exhaust the stack.
struct JSONScanner {

    private let bytes: [UInt8]
    private(set) var index = 0
    private var depth = 0
    static let maximumDepth = 64

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private func fail(_ expected: String) -> EnvelopeError { Self.syntax(expected, at: index) }

    static func syntax(_ expected: String, at offset: Int) -> EnvelopeError {
        .malformedJSON("expected \(expected) at byte \(offset)")
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// The document must end after its one value.
    mutating func finish() throws(EnvelopeError) {
        skipWhitespace()
        if index != bytes.count { throw fail("end of document") }
    }

    /// True when the value at the cursor is an object.
    mutating func isObject() -> Bool { peekKind() == UInt8(ascii: "{") }
    mutating func isArray() -> Bool { peekKind() == UInt8(ascii: "[") }

    /// Calls `body` with each key of the object at the cursor; `body` must
    /// consume the key's value (read it, or `skipValue()`).
    mutating func object(_ body: (inout JSONScanner, ArraySlice<UInt8>) throws(EnvelopeError) -> Void) throws(EnvelopeError) {
        skipWhitespace()
        guard current == UInt8(ascii: "{") else { throw fail("an object") }
        index += 1
        depth += 1
        guard depth <= Self.maximumDepth else { throw fail("nesting of at most \(Self.maximumDepth)") }
        defer { depth -= 1 }
        skipWhitespace()
        if current == UInt8(ascii: "}") { index += 1; return }
        while true {
            skipWhitespace()
            let key = try rawString()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw fail("':'") }
            index += 1
            try body(&self, key)
            skipWhitespace()
            if current == UInt8(ascii: ",") { index += 1; continue }
            if current == UInt8(ascii: "}") { index += 1; return }
            throw fail("',' or '}'")
        }
    }

    /// Calls `body` for each element of the array at the cursor; `body` must consume it.
    mutating func array(_ body: (inout JSONScanner) throws(EnvelopeError) -> Void) throws(EnvelopeError) {
        skipWhitespace()
        guard current == UInt8(ascii: "[") else { throw fail("an array") }
        index += 1
        depth += 1
        guard depth <= Self.maximumDepth else { throw fail("nesting of at most \(Self.maximumDepth)") }
        defer { depth -= 1 }
        skipWhitespace()
        if current == UInt8(ascii: "]") { index += 1; return }
        while true {
            try body(&self)
            skipWhitespace()
            if current == UInt8(ascii: ",") { index += 1; continue }
            if current == UInt8(ascii: "]") { index += 1; return }
            throw fail("',' or ']'")
        }
    }

    /// What kind of value is at the cursor (after whitespace).
    mutating func peekKind() -> UInt8? {
        skipWhitespace()
        return current
    }

    /// True (and consumed) when the value is `null`.
    mutating func takeNull() throws(EnvelopeError) -> Bool {
        skipWhitespace()
        guard current == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    /// The bytes between the quotes of a string, escapes not yet resolved.
    mutating func rawString() throws(EnvelopeError) -> ArraySlice<UInt8> {
        guard current == UInt8(ascii: "\"") else { throw fail("a string") }
        index += 1
        let start = index
        while index < bytes.count {
            index = Self.nextSpecialByte(in: bytes, from: index)
            guard index < bytes.count else { break }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return bytes[start..<index - 1]
            }
            if byte == UInt8(ascii: "\\") {
                // Validate the escape even in strings that are only skipped.
                guard index + 1 < bytes.count else { throw fail("a complete escape") }
                switch bytes[index + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 2
                case UInt8(ascii: "u"):
                    guard index + 6 <= bytes.count, bytes[index + 2..<index + 6].allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 102) }) else {
                        throw fail("four hex digits after \\u")
                    }
                    index += 6
                default:
                    throw fail("a valid escape")
                }
                continue
            }
            throw fail("no control character in a string")
        }
        throw fail("the end of the string")
    }

    /// The first offset from `start` holding a quote, a backslash or a
    /// control character (or the end): the bytes a string's scan must look
    /// at. Most of an envelope is string bytes, and through the array's
    /// checked subscript this loop was the scanner's largest cost.
    private static func nextSpecialByte(in bytes: [UInt8], from start: Int) -> Int {
        bytes.withUnsafeBufferPointer { buffer in
            var offset = start
            while offset < buffer.count {
                let byte = buffer[offset]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { return offset }
                offset += 1
            }
            return offset
        }
    }

    /// A string value for `field`, escapes resolved; nil for `null`.
    mutating func string(_ field: String) throws(EnvelopeError) -> String? {
        if try takeNull() { return nil }
        skipWhitespace()
        guard current == UInt8(ascii: "\"") else { throw .invalidField(field, "expected a string") }
        let raw = try rawString()
        guard raw.contains(UInt8(ascii: "\\")) else { return String(decoding: raw, as: UTF8.self) }
        return try Self.unescape(raw, at: index)
    }

    static func unescape(_ raw: ArraySlice<UInt8>, at offset: Int) throws(EnvelopeError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = raw.startIndex
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= raw.endIndex else { return nil }
            var value: UInt32 = 0
            for byte in raw[at..<at + 4] {
                let digit: UInt32
                switch byte {
                case 48...57: digit = UInt32(byte - 48)
                case 65...70: digit = UInt32(byte - 55)
                case 97...102: digit = UInt32(byte - 87)
                default: return nil
                }
                value = value << 4 | digit
            }
            return value
        }
        while i < raw.endIndex {
            let byte = raw[i]
            guard byte == UInt8(ascii: "\\") else { out.append(byte); i += 1; continue }
            guard i + 1 < raw.endIndex else { throw syntax("a complete escape", at: offset) }
            let code = raw[i + 1]
            i += 2
            switch code {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(code)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard var scalar = hex4(i) else { throw syntax("four hex digits after \\u", at: offset) }
                i += 4
                if (0xD800..<0xDC00).contains(scalar), i + 6 <= raw.endIndex, raw[i] == UInt8(ascii: "\\"), raw[i + 1] == UInt8(ascii: "u"),
                   let low = hex4(i + 2), (0xDC00..<0xE000).contains(low) {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                out += Array(String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8)
            default:
                throw syntax("a valid escape", at: offset)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// An integer value (no fraction, no exponent) for `field`; nil for `null`.
    mutating func integer(_ field: String) throws(EnvelopeError) -> Int64? {
        if try takeNull() { return nil }
        skipWhitespace()
        guard let first = current, first == UInt8(ascii: "-") || (first >= 48 && first <= 57) else {
            throw .invalidField(field, "expected an integer")
        }
        let start = index
        try number()
        var value: Int64 = 0
        var negative = false
        var i = start
        if bytes[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        while i < index {
            let byte = bytes[i]
            guard byte >= 48 && byte <= 57 else { throw .invalidField(field, "expected an integer") }
            let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
            let (added, o2) = shifted.addingReportingOverflow(Int64(byte - 48))
            if o1 || o2 { throw .invalidField(field, "integer does not fit in 64 bits") }
            value = added
            i += 1
        }
        return negative ? -value : value
    }

    /// A boolean for `field`; nil for `null`.
    mutating func bool(_ field: String) throws(EnvelopeError) -> Bool? {
        if try takeNull() { return nil }
        skipWhitespace()
        if current == UInt8(ascii: "t") { try literal("true"); return true }
        if current == UInt8(ascii: "f") { try literal("false"); return false }
        throw .invalidField(field, "expected true or false")
    }

    /// A JSON number for `field` as fixed point with `decimals` fractional
    /// digits, rounded half away from zero; nil for `null`. Exponents are
    /// refused (no network server writes them for these fields).
    mutating func decimal(_ field: String, decimals: Int) throws(EnvelopeError) -> Int64? {
        if try takeNull() { return nil }
        skipWhitespace()
        guard let first = current, first == UInt8(ascii: "-") || (first >= 48 && first <= 57) else {
            throw .invalidField(field, "expected a number")
        }
        let start = index
        try number()
        var text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard !text.contains("e"), !text.contains("E") else { throw .invalidField(field, "exponent not supported") }
        // Round the digits beyond `decimals` half away from zero.
        var roundUp = false
        if let dot = text.firstIndex(of: ".") {
            let fraction = text[text.index(after: dot)...]
            if fraction.count > decimals {
                let cut = fraction.index(fraction.startIndex, offsetBy: decimals)
                roundUp = fraction[cut] >= "5"
                text = String(text[..<cut])
                if text.hasSuffix(".") { text.removeLast() }
            }
        }
        guard var value = FixedPoint.parseDecimal(text, decimals: decimals) else { throw .invalidField(field, "number out of range") }
        if roundUp {
            let (next, overflow) = value.addingReportingOverflow(text.hasPrefix("-") ? -1 : 1)
            guard !overflow else { throw .invalidField(field, "number out of range") }
            value = next
        }
        return value
    }

    /// Skips one value of any kind.
    mutating func skipValue() throws(EnvelopeError) {
        skipWhitespace()
        switch current {
        case UInt8(ascii: "{"): try object { (scanner, _) throws(EnvelopeError) in try scanner.skipValue() }
        case UInt8(ascii: "["): try array { (scanner) throws(EnvelopeError) in try scanner.skipValue() }
        case UInt8(ascii: "\""): _ = try rawString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: try number()
        }
    }

    private mutating func literal(_ word: StaticString) throws(EnvelopeError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("'\(word)'") }
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: count)
        for offset in 0..<count where bytes[index + offset] != expected[offset] { throw fail("'\(word)'") }
        index += count
    }

    /// Validates and skips a number per the JSON grammar.
    private mutating func number() throws(EnvelopeError) {
        let start = index
        if current == UInt8(ascii: "-") { index += 1 }
        guard let first = current, first >= 48 && first <= 57 else { index = start; throw fail("a value") }
        if first == 48 { index += 1 } else { while let c = current, c >= 48 && c <= 57 { index += 1 } }
        if current == UInt8(ascii: ".") {
            index += 1
            guard let c = current, c >= 48 && c <= 57 else { throw fail("a digit after '.'") }
            while let c = current, c >= 48 && c <= 57 { index += 1 }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard let c = current, c >= 48 && c <= 57 else { throw fail("a digit in the exponent") }
            while let c = current, c >= 48 && c <= 57 { index += 1 }
        }
    }
}

extension ArraySlice where Element == UInt8 {
    /// Compares a key with a literal without building a String.
    func equals(_ literal: StaticString) -> Bool {
        count == literal.utf8CodeUnitCount && elementsEqual(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }
}

/// Base64 (RFC 4648, with padding optional) without Foundation's Data.
enum Base64 {
    static let table: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, character) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(character)] = UInt8(index)
        }
        return table
    }()

    static func decode(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        var end = text.endIndex
        while end > text.startIndex, text[end - 1] == UInt8(ascii: "=") { end -= 1 }
        let body = text[text.startIndex..<end]
        guard text.endIndex - end <= 2, body.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(body.count * 3 / 4)
        var buffer: UInt32 = 0
        var bits = 0
        for character in body {
            let value = table[Int(character)]
            guard value != 0xFF else { return nil }
            buffer = buffer << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        return out
    }
}
