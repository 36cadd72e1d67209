import Readings

/// ChirpStack v4 MQTT integration, JSON encoding (`json=true`):
/// `application/{applicationId}/device/{devEui}/event/{type}`.
/// Field names per `api/proto/integration/integration.proto` (protobuf-JSON:
/// camelCase, bytes as base64). The protobuf encoding (`json=false`) is not
/// supported; such a message is quarantined as malformed JSON.
public struct ChirpStackEnvelope: EnvelopeParser {
    public let kind = EnvelopeKind.chirpstack
    public let trustFrameIdentity: Bool
    public init(trustFrameIdentity: Bool = false) { self.trustFrameIdentity = trustFrameIdentity }

    public func parse(topic: String, message: [UInt8]) throws(EnvelopeError) -> EnvelopeEvent {
        let (topicDevice, eventType) = Self.topicParts(topic)
        var deduplicationID: String?
        var time: JSONScanner.TimeField?
        var device: String?
        var profile: String?
        var fCnt: Int64?
        var fPort: Int64?
        var data: [UInt8]?
        var gateways = 0
        var bestRSSI: Int?
        var batteryLevel: Int64?
        var batteryUnavailable = false
        var externalPower = false
        try JSONScanner.scan(message) { (scanner) throws(EnvelopeError) in
            guard scanner.isObject() else { throw .malformedJSON("expected a JSON object at byte 0") }
            try scanner.object { (s, key) throws(EnvelopeError) in
                if key.equals("deduplicationId") { deduplicationID = try s.string("deduplicationId") }
                else if key.equals("time") { time = try s.time("time") }
                else if key.equals("fCnt") { fCnt = try s.integer("fCnt") }
                else if key.equals("fPort") { fPort = try s.integer("fPort") }
                else if key.equals("batteryLevel") { batteryLevel = try s.decimal("batteryLevel", decimals: 0) }
                else if key.equals("batteryLevelUnavailable") { batteryUnavailable = try s.bool("batteryLevelUnavailable") ?? false }
                else if key.equals("externalPowerSource") { externalPower = try s.bool("externalPowerSource") ?? false }
                else if key.equals("data") { data = try s.base64("data") ?? data }
                else if key.equals("deviceInfo") {
                    if try s.takeNull() { return }
                    guard s.isObject() else { throw .invalidField("deviceInfo", "expected an object") }
                    try s.object { (s, key) throws(EnvelopeError) in
                        if key.equals("devEui") { device = try s.lowercasedString("deviceInfo.devEui") }
                        else if key.equals("deviceProfileName") { profile = try s.string("deviceInfo.deviceProfileName") }
                        else { try s.skipValue() }
                    }
                } else if key.equals("rxInfo") {
                    if try s.takeNull() { return }
                    (gateways, bestRSSI) = try s.gatewayReception("rxInfo")
                } else {
                    try s.skipValue()
                }
            }
            try scanner.finish()
        }

        if !trustFrameIdentity, let topicDevice, let device, !Self.sameIgnoringASCIICase(topicDevice, device) {
            throw .deviceMismatch("topic names device \(topicDevice), payload deviceInfo.devEui is \(device)")
        }
        guard eventType == "up" else {
            // A status event's battery level (%, a float in ChirpStack) is recorded.
            var values: [DecodedValue] = []
            if eventType == "status", let batteryLevel, !batteryUnavailable, !externalPower {
                values.append(DecodedValue(metric: .batteryLevel, value: batteryLevel))
            }
            return .event(type: eventType, device: device ?? topicDevice?.lowercased(), values: values)
        }
        guard let device, !device.isEmpty else { throw .missingField("deviceInfo.devEui") }
        guard Self.isHexEUI(device) else { throw .invalidField("deviceInfo.devEui", "'\(device)' is not 16 hex digits") }
        var networkTime: EpochMillis?
        switch time {
        case .millis(let millis): networkTime = millis
        case .unreadable(let text): throw .invalidField("time", "'\(text)' is not an RFC 3339 time")
        case nil: break
        }
        var counter: UInt32?
        if let fCnt {
            guard let value = UInt32(exactly: fCnt) else { throw .invalidField("fCnt", "\(fCnt) is not a 32-bit frame counter") }
            counter = value
        }
        var port: Int?
        if let fPort {
            guard (0...255).contains(fPort) else { throw .invalidField("fPort", "\(fPort) is not 0...255") }
            port = Int(fPort)
        }
        // An empty `data` is a MAC-only frame (fPort 0) or no FRMPayload.
        return .uplink(EnvelopeUplink(
            envelope: .chirpstack, device: device, fCnt: counter, fPort: port, payload: data ?? [],
            networkTime: networkTime, deduplicationID: deduplicationID, deviceProfileName: profile,
            gatewayCount: gateways, bestRSSI: bestRSSI))
    }

    /// The device and event type named by a default-template topic: the
    /// levels after `device` and `event` (the last of each). One walk over
    /// the topic's bytes; a `String` is made only for the two levels kept.
    static func topicParts(_ topic: String) -> (device: String?, event: String) {
        var topic = topic
        return topic.withUTF8 { bytes in
            var device: String?
            var event = "up"
            var previous: Range<Int>?
            let levels = TopicLevelRanges(bytes)
            for range in levels {
                if let previous {
                    let level = UnsafeBufferPointer(rebasing: bytes[range])
                    if levels.level(previous, is: "device".utf8) { device = String(decoding: level, as: UTF8.self) }
                    if levels.level(previous, is: "event".utf8) { event = String(decoding: level, as: UTF8.self) }
                }
                previous = range
            }
            return (device, event)
        }
    }

    /// `topic.lowercased() == lowered` for a topic's DevEUI and the
    /// payload's (already lowercased), without making the lowercased copy
    /// when both are ASCII, as DevEUIs are.
    static func sameIgnoringASCIICase(_ topic: String, _ lowered: String) -> Bool {
        var topicText = topic, loweredText = lowered
        let same: Bool? = topicText.withUTF8 { a in
            loweredText.withUTF8 { b in
                guard a.allSatisfy({ $0 < 0x80 }), b.allSatisfy({ $0 < 0x80 }) else { return nil }
                return a.count == b.count && zip(a, b).allSatisfy { a, b in a.asciiLowercased == b }
            }
        }
        return same ?? (topic.lowercased() == lowered)
    }

    static func isHexEUI(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { $0.count == 16 && $0.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) } }
    }
}
