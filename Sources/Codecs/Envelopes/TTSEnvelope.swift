import Foundation
import Readings

/// The Things Stack v3 MQTT: `v3/{application}@{tenant}/devices/{device}/{event}`.
/// Zero fields are omitted by TTS, so a missing `f_cnt` or `f_port` means 0.
public struct TTSEnvelope: EnvelopeParser {
    public let kind = EnvelopeKind.tts
    public init() {}

    struct Message: Decodable {
        struct DeviceIDs: Decodable {
            var device_id: String?
            var dev_eui: String?
        }
        struct UplinkMessage: Decodable {
            struct RxMetadata: Decodable { var rssi: Int? }
            var f_port: Int?
            var f_cnt: UInt32?
            var frm_payload: String?
            var received_at: String?
            var rx_metadata: [RxMetadata]?
        }
        var end_device_ids: DeviceIDs?
        var received_at: String?
        var uplink_message: UplinkMessage?
    }

    public func parse(topic: String, message: [UInt8]) throws(EnvelopeError) -> EnvelopeEvent {
        let segments = topic.split(separator: "/", omittingEmptySubsequences: false)
        let eventType = segments.firstIndex(of: "devices").flatMap { $0 + 2 < segments.count ? segments[($0 + 2)...].joined(separator: "/") : nil } ?? "up"
        let decoded: Message
        do {
            decoded = try JSONDecoder().decode(Message.self, from: Data(message))
        } catch let error as DecodingError {
            throw ChirpStackEnvelope.describe(error)
        } catch {
            throw .malformedJSON("\(error)")
        }
        let ids = decoded.end_device_ids
        let device = (ids?.dev_eui?.lowercased()).flatMap { $0.isEmpty ? nil : $0 } ?? ids?.device_id
        guard eventType == "up" else { return .event(type: eventType, device: device) }
        guard let device else { throw .missingField("end_device_ids.dev_eui") }
        guard let up = decoded.uplink_message else { throw .missingField("uplink_message") }
        var payload: [UInt8] = []
        if let frm = up.frm_payload, !frm.isEmpty {
            guard let bytes = Data(base64Encoded: frm) else { throw .invalidField("uplink_message.frm_payload", "not valid base64") }
            payload = Array(bytes)
        }
        var networkTime: EpochMillis?
        if let time = up.received_at ?? decoded.received_at {
            guard let millis = RFC3339.parseMillis(time) else { throw .invalidField("received_at", "'\(time)' is not an RFC 3339 time") }
            networkTime = millis
        }
        let rx = up.rx_metadata ?? []
        return .uplink(Uplink(
            envelope: .tts, device: device, fCnt: up.f_cnt ?? 0, fPort: up.f_port ?? 0, payload: payload,
            networkTime: networkTime, gatewayCount: rx.count, bestRSSI: rx.compactMap(\.rssi).max()))
    }
}
