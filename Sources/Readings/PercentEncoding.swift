/// Percent-encoding of URL parts (RFC 3986 section 2.1): every UTF-8 byte
/// outside the allowed ASCII set becomes %XX, uppercase hex.
public enum PercentEncoding {
    /// ASCII letters and digits only: a form value or a `data:` URL body.
    public static let alphanumerics = AllowedBytes("")
    /// What a path may hold unencoded, as Foundation's `.urlPathAllowed`:
    /// RFC 3986 `pchar` and "/", less ":" (a colon in a relative path's first
    /// segment would read as a scheme), so an NGSI-LD URN goes as `urn%3A...`.
    public static let pathAllowed = AllowedBytes("-._~!$&'()*+,;=@/")
    /// What a query may hold unencoded (RFC 3986 `query`), as Foundation's `.urlQueryAllowed`.
    public static let queryAllowed = AllowedBytes("-._~!$&'()*+,;=:@/?")

    /// ASCII letters, digits and the given punctuation.
    public struct AllowedBytes: Sendable {
        var allowed: [Bool]

        public init(_ punctuation: String) {
            allowed = (0..<128).map { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(UInt8(byte))
                    || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(UInt8(byte))
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(UInt8(byte))
            }
            for byte in punctuation.utf8 where byte < 128 { allowed[Int(byte)] = true }
        }

        /// The same set without these characters (a query value must encode "&", "=" and "+").
        public func removing(_ punctuation: String) -> AllowedBytes {
            var copy = self
            for byte in punctuation.utf8 where byte < 128 { copy.allowed[Int(byte)] = false }
            return copy
        }

        func contains(_ byte: UInt8) -> Bool { byte < 128 && allowed[Int(byte)] }
    }

    public static func encode(_ text: String, allowing set: AllowedBytes) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if set.contains(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hexDigit(byte >> 4))
                out.append(hexDigit(byte & 0x0F))
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The text with each %XX turned back into its byte; nil when a % is not
    /// followed by two hex digits or the bytes are not UTF-8.
    public static func decode(_ text: some StringProtocol) -> String? {
        var out: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        while let byte = bytes.popFirst() {
            guard byte == UInt8(ascii: "%") else { out.append(byte); continue }
            guard bytes.count >= 2, let pair = Hex.decode(ascii: bytes.prefix(2)) else { return nil }
            out.append(contentsOf: pair)
            bytes = bytes.dropFirst(2)
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "A") + nibble - 10
    }
}
