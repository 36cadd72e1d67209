/// Hex text to bytes, for command-line payloads, test vectors and benchmarks.
public enum Hex {
    /// `value` as exactly `count` hex digits, zero-padded on the left (a
    /// longer value keeps all its digits): DevEUIs, %-escapes.
    public static func digits(_ value: UInt64, count: Int, uppercase: Bool = false) -> String {
        let text = String(value, radix: 16, uppercase: uppercase)
        return text.count >= count ? text : String(repeating: "0", count: count - text.count) + text
    }

    /// Decodes an even number of hex digits (either case); nil for anything else.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        decode(ascii: Array(text.utf8)[...])
    }

    /// The same for hex digits that arrived as bytes (an MQTT message).
    public static func decode(ascii digits: ArraySlice<UInt8>) -> [UInt8]? {
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = digits.startIndex
        while index < digits.endIndex {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 65...70: return c - 55
        case 97...102: return c - 87
        default: return nil
        }
    }
}
