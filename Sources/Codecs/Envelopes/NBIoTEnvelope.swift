import Readings

/// NB-IoT sensors publish their own binary frame straight to a topic the
/// user configures, raw or as ASCII hex (modem "hexstring" modes). No network
/// server wraps it. The device is the IMEI inside a Milesight NB-IoT frame,
/// else the last level of the topic (`nbiot/{imei}/up` → set the topic so the
/// device id is last, or use a frame that carries it).
public struct NBIoTEnvelope: EnvelopeParser {
    public let kind = EnvelopeKind.nbiot
    public init() {}

    public func parse(topic: String, message: [UInt8]) throws(EnvelopeError) -> EnvelopeEvent {
        guard !message.isEmpty else { throw .invalidField("payload", "empty message") }
        let bytes = Self.hexDecoded(message) ?? message
        if MilesightNBIoTFrame.looksLikeFrame(bytes) {
            do {
                let frame = try MilesightNBIoTFrame.parse(bytes)
                return .uplink(EnvelopeUplink(envelope: .nbiot, device: frame.imei, fCnt: UInt32(frame.frameCount), fPort: nil, payload: frame.payload))
            } catch {
                throw .invalidField("Milesight NB-IoT frame", "\(error)")
            }
        }
        let device = topic.split(separator: "/").last.map { $0.lowercased() } ?? ""
        guard !device.isEmpty, device.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 }) else {
            throw .topicMismatch("no device id in the frame and none at the end of topic '\(topic)'")
        }
        return .uplink(EnvelopeUplink(envelope: .nbiot, device: device, payload: bytes))
    }

    /// The bytes of an ASCII-hex message (even length, hex digits and nothing
    /// else, trailing newline or spaces trimmed), or nil when the message is
    /// not hex text.
    static func hexDecoded(_ message: [UInt8]) -> [UInt8]? {
        var digits = message[...]
        while let last = digits.last, last == 0x0A || last == 0x0D || last == 0x20 { digits = digits.dropLast() }
        guard !digits.isEmpty else { return nil }
        return Hex.decode(ascii: digits)
    }
}
