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
    /// A key or a string's bytes between the quotes, escapes not yet
    /// resolved. It points into the message and is valid only inside `scan`.
    typealias Text = UnsafeBufferPointer<UInt8>

    /// The message's bytes, borrowed for the length of `scan`: reading them
    /// through the buffer spares each access the array's bounds check and
    /// each key or string a retained `ArraySlice`. Every read below checks
    /// `index` against `bytes.count` itself, so a document cut anywhere is
    /// an error, never a read past the end.
    private let bytes: UnsafeBufferPointer<UInt8>
    private(set) var index = 0
    private var depth = 0
    /// Whether the last string `rawString` returned held a backslash.
    private var lastStringEscaped = false
    static let maximumDepth = 64

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// Runs `body` with a scanner over `message`; the scanner and every
    /// `Text` it hands out must not outlive `body`.
    static func scan<Result>(_ message: [UInt8], _ body: (inout JSONScanner) throws(EnvelopeError) -> Result) throws(EnvelopeError) -> Result {
        try message.withUnsafeBufferPointer { (buffer) throws(EnvelopeError) -> Result in
            var scanner = JSONScanner(buffer)
            return try body(&scanner)
        }
    }

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
    mutating func object(_ body: (inout JSONScanner, Text) throws(EnvelopeError) -> Void) throws(EnvelopeError) {
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
    mutating func rawString() throws(EnvelopeError) -> Text {
        guard current == UInt8(ascii: "\"") else { throw fail("a string") }
        index += 1
        let start = index
        lastStringEscaped = false
        while index < bytes.count {
            index = Self.nextSpecialByte(in: bytes, from: index)
            guard index < bytes.count else { break }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return Text(rebasing: bytes[start..<index - 1])
            }
            if byte == UInt8(ascii: "\\") {
                // Validate the escape even in strings that are only skipped.
                lastStringEscaped = true
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
    /// at. Most of an envelope is string bytes, so this looks at eight of
    /// them at a time, and takes the offset within a word from the word's
    /// mask; only the last few bytes of the message go one by one.
    static func nextSpecialByte(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        guard let base = bytes.baseAddress else { return start }
        var offset = start
        while offset + 8 <= bytes.count {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + offset).loadUnaligned(as: UInt64.self))
            let mask = Self.specialByteMask(word)
            if mask != 0 { return offset + mask.trailingZeroBitCount / 8 }
            offset += 8
        }
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { return offset }
            offset += 1
        }
        return offset
    }

    /// The top bit of each byte of `word` (little-endian) that is a quote, a
    /// backslash or below 0x20, as far as the lowest such byte: above it the
    /// mask may mark bytes that are none of these, so only its lowest set bit
    /// is used. `(x - 0x01…) & ~x & 0x80…` marks the zero bytes of x (a byte
    /// borrows only from a zero byte below it, so nothing below the lowest
    /// zero byte is marked); `x - 0x20…` borrows into the top bit of a byte
    /// below 0x20 likewise, and `~x` leaves out bytes of 0x80 and up.
    @inline(__always)
    static func specialByteMask(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quotes = word ^ (ones &* 0x22)
        let backslashes = word ^ (ones &* 0x5C)
        let zeroQuote = (quotes &- ones) & ~quotes
        let zeroBackslash = (backslashes &- ones) & ~backslashes
        let control = (word &- ones &* 0x20) & ~word
        return (zeroQuote | zeroBackslash | control) & highs
    }

    /// The bytes of a string value for `field`, escapes not yet resolved
    /// (`lastStringEscaped` says whether it holds any); nil for `null`.
    private mutating func stringValue(_ field: String) throws(EnvelopeError) -> Text? {
        if try takeNull() { return nil }
        skipWhitespace()
        guard current == UInt8(ascii: "\"") else { throw .invalidField(field, "expected a string") }
        return try rawString()
    }

    /// The string `stringValue` just returned, escapes resolved.
    private func resolved(_ raw: Text) throws(EnvelopeError) -> String {
        lastStringEscaped ? try Self.unescape(raw, at: index) : String(decoding: raw, as: UTF8.self)
    }

    /// A string value for `field`, escapes resolved; nil for `null`.
    mutating func string(_ field: String) throws(EnvelopeError) -> String? {
        guard let raw = try stringValue(field) else { return nil }
        return try resolved(raw)
    }

    /// A string value for `field` with ASCII letters in lower case (a
    /// DevEUI): one `String` made, not one and then its lowercased copy.
    /// Anything beyond ASCII goes through `lowercased()` as before.
    mutating func lowercasedString(_ field: String) throws(EnvelopeError) -> String? {
        guard let raw = try stringValue(field) else { return nil }
        guard !lastStringEscaped, raw.allSatisfy({ $0 < 0x80 }) else { return try resolved(raw).lowercased() }
        guard raw.contains(where: { $0.asciiLowercased != $0 }) else { return String(decoding: raw, as: UTF8.self) }
        return String(unsafeUninitializedCapacity: raw.count) { buffer in
            for (offset, byte) in raw.enumerated() { buffer[offset] = byte.asciiLowercased }
            return raw.count
        }
    }

    /// A base64 string value for `field`, decoded; nil for `null`. Decoded
    /// from the message's own bytes, without a `String` in between.
    mutating func base64(_ field: String) throws(EnvelopeError) -> [UInt8]? {
        guard let raw = try stringValue(field) else { return nil }
        let decoded: [UInt8]?
        if lastStringEscaped {
            // An escaped base64 string (`\/` is valid JSON) is rare: resolve it first.
            var text = try resolved(raw)
            decoded = text.withUTF8 { Base64.decode($0) }
        } else {
            decoded = Base64.decode(raw)
        }
        guard let decoded else { throw .invalidField(field, "not valid base64") }
        return decoded
    }

    /// A time field: read as epoch milliseconds from the message's bytes,
    /// or the text that is not an RFC 3339 time, for the caller to refuse
    /// (only an uplink's time must be one).
    enum TimeField {
        case millis(EpochMillis)
        case unreadable(String)
    }

    /// A string value for `field` read as an RFC 3339 time; nil for `null`.
    mutating func time(_ field: String) throws(EnvelopeError) -> TimeField? {
        guard let raw = try stringValue(field) else { return nil }
        if !lastStringEscaped, let millis = RFC3339.parseMillis(utf8: raw) { return .millis(millis) }
        let text = try resolved(raw)
        return RFC3339.parseMillis(text).map { .millis($0) } ?? .unreadable(text)
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
        var text = String(decoding: Text(rebasing: bytes[start..<index]), as: UTF8.self)
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

extension UnsafeBufferPointer where Element == UInt8 {
    /// Compares a key with a literal without building a String.
    func equals(_ literal: StaticString) -> Bool {
        count == literal.utf8CodeUnitCount && elementsEqual(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }
}
