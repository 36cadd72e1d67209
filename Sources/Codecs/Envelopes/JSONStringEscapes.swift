// The parts of reading an envelope's strings that need no scanner state:
// resolving a string's escapes, ASCII case, and base64.

extension JSONScanner {
    /// A string's bytes with its escapes resolved (`\n`, `\u00e9`, surrogate
    /// pairs); `offset` is where the string ended, for the error.
    static func unescape(_ raw: Text, at offset: Int) throws(EnvelopeError) -> String {
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
}

extension UInt8 {
    /// The byte with an ASCII capital letter made small; any other byte as it is.
    var asciiLowercased: UInt8 { self >= UInt8(ascii: "A") && self <= UInt8(ascii: "Z") ? self | 0x20 : self }
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

    static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
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
