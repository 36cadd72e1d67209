import Readings

/// The Things Stack v3 MQTT: `v3/{application}@{tenant}/devices/{device}/{event}`.
/// Zero fields are omitted by TTS, so a missing `f_cnt` or `f_port` means 0.
public struct TTSEnvelope: EnvelopeParser {
    public let kind = EnvelopeKind.tts
    public let trustFrameIdentity: Bool
    public init(trustFrameIdentity: Bool = false) { self.trustFrameIdentity = trustFrameIdentity }

    public func parse(topic: String, message: [UInt8]) throws(EnvelopeError) -> EnvelopeEvent {
        let (topicDevice, eventType) = Self.topicParts(topic)
        var deviceID: String?
        var devEUI: String?
        var receivedAt: String?
        var uplinkReceivedAt: String?
        var hasUplink = false
        var fPort: Int64?
        var fCnt: Int64?
        var payload: [UInt8] = []
        var gateways = 0
        var bestRSSI: Int?
        try JSONScanner.scan(message) { (scanner) throws(EnvelopeError) in
            guard scanner.isObject() else { throw .malformedJSON("expected a JSON object at byte 0") }
            try scanner.object { (s, key) throws(EnvelopeError) in
                if key.equals("end_device_ids") {
                    guard s.isObject() else { throw .invalidField("end_device_ids", "expected an object") }
                    try s.object { (s, key) throws(EnvelopeError) in
                        if key.equals("device_id") { deviceID = try s.string("end_device_ids.device_id") }
                        else if key.equals("dev_eui") { devEUI = try s.lowercasedString("end_device_ids.dev_eui") }
                        else { try s.skipValue() }
                    }
                } else if key.equals("received_at") {
                    receivedAt = try s.string("received_at")
                } else if key.equals("uplink_message") {
                    guard s.isObject() else { throw .invalidField("uplink_message", "expected an object") }
                    hasUplink = true
                    try s.object { (s, key) throws(EnvelopeError) in
                        if key.equals("f_port") { fPort = try s.integer("uplink_message.f_port") }
                        else if key.equals("f_cnt") { fCnt = try s.integer("uplink_message.f_cnt") }
                        else if key.equals("received_at") { uplinkReceivedAt = try s.string("uplink_message.received_at") }
                        else if key.equals("frm_payload") { payload = try s.base64("uplink_message.frm_payload") ?? payload }
                        else if key.equals("rx_metadata") {
                            (gateways, bestRSSI) = try s.gatewayReception("uplink_message.rx_metadata")
                        } else {
                            try s.skipValue()
                        }
                    }
                } else {
                    try s.skipValue()
                }
            }
            try scanner.finish()
        }
        // The topic names the device_id (not the EUI): they must agree.
        if !trustFrameIdentity, let topicDevice, topicDevice != (deviceID ?? "") {
            throw .deviceMismatch("topic names device \(topicDevice), payload end_device_ids.device_id is \(deviceID ?? "absent")")
        }
        let device = devEUI.flatMap { $0.isEmpty ? nil : $0 } ?? deviceID
        guard eventType == "up" else { return .event(type: eventType, device: device) }
        guard let device else { throw .missingField("end_device_ids.dev_eui") }
        guard hasUplink else { throw .missingField("uplink_message") }
        var networkTime: EpochMillis?
        if let time = uplinkReceivedAt ?? receivedAt {
            guard let millis = RFC3339.parseMillis(time) else { throw .invalidField("received_at", "'\(time)' is not an RFC 3339 time") }
            networkTime = millis
        }
        guard let counter = UInt32(exactly: fCnt ?? 0) else { throw .invalidField("uplink_message.f_cnt", "not a 32-bit frame counter") }
        let portValue = fPort ?? 0
        guard (0...255).contains(portValue) else { throw .invalidField("uplink_message.f_port", "\(portValue) is not 0...255") }
        let port = Int(portValue)
        return .uplink(EnvelopeUplink(
            envelope: .tts, device: device, fCnt: counter, fPort: port, payload: payload,
            networkTime: networkTime, gatewayCount: gateways, bestRSSI: bestRSSI))
    }

    /// The device the topic names (the level after the first `devices`) and
    /// the event type (every level after that, e.g. `up` or `service/data`;
    /// `up` when there is none).
    static func topicParts(_ topic: String) -> (device: String?, event: String) {
        var levels = TopicLevels(topic)
        while let level = levels.next() {
            guard TopicLevels.level(level, is: "devices") else { continue }
            guard let device = levels.next() else { return (nil, "up") }
            return (String(device), levels.rest.map(String.init) ?? "up")
        }
        return (nil, "up")
    }
}
