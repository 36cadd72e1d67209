import Readings

/// NB-IoT sensors publish their own binary frame straight to a topic the
/// user configures, raw or as ASCII hex (modem "hexstring" modes). No network
/// server wraps it. A Milesight NB-IoT frame carries its IMEI: when the topic
/// names an IMEI too (a level of 15 or 16 digits, `nbiot/{imei}`, as broker
/// ACLs per device are written), both must be the same, unless the
/// subscription trusts the frame's identity. On a topic that names no device
/// (`nbiot/uplink`, shared by a fleet) the frame's IMEI is the device. Any
/// other frame is the device named by the topic's last level.
public struct NBIoTEnvelope: EnvelopeParser {
    public let kind = EnvelopeKind.nbiot
    public let trustFrameIdentity: Bool
    public init(trustFrameIdentity: Bool = false) { self.trustFrameIdentity = trustFrameIdentity }

    public func parse(topic: String, message: [UInt8]) throws(EnvelopeError) -> EnvelopeEvent {
        guard !message.isEmpty else { throw .invalidField("payload", "empty message") }
        let bytes = Self.hexDecoded(message) ?? message
        if MilesightNBIoTFrame.looksLikeFrame(bytes) {
            let frame: MilesightNBIoTFrame
            do {
                frame = try MilesightNBIoTFrame.parse(bytes)
            } catch {
                throw .invalidField("Milesight NB-IoT frame", "\(error)")
            }
            if !trustFrameIdentity, let topicIMEI = Self.imeiLevel(of: topic), topicIMEI != frame.imei {
                throw .deviceMismatch("topic names device \(topicIMEI), the frame's IMEI is \(frame.imei)")
            }
            return .uplink(EnvelopeUplink(envelope: .nbiot, device: frame.imei, fCnt: UInt32(frame.frameCount), fPort: nil, payload: frame.payload))
        }
        let device = topic.split(separator: "/").last.map { $0.lowercased() } ?? ""
        guard !device.isEmpty, device.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 }) else {
            throw .topicMismatch("no device id in the frame and none at the end of topic '\(topic)'")
        }
        return .uplink(EnvelopeUplink(envelope: .nbiot, device: device, payload: bytes))
    }

    /// The last topic level that is an IMEI (15 digits) or IMEISV (16).
    static func imeiLevel(of topic: String) -> String? {
        topic.split(separator: "/").last { level in
            (15...16).contains(level.utf8.count) && level.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
        }.map(String.init)
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
