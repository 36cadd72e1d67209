import Foundation
import Readings

/// ChirpStack v4 MQTT integration, JSON encoding (`json=true`):
/// `application/{applicationId}/device/{devEui}/event/{type}`.
/// Field names per `api/proto/integration/integration.proto` (protobuf-JSON:
/// camelCase, bytes as base64). The protobuf encoding (`json=false`) is not
/// supported; such a message is quarantined as malformed JSON.
public struct ChirpStackEnvelope: EnvelopeParser {
    public let kind = EnvelopeKind.chirpstack
    public init() {}

    struct UpEvent: Decodable {
        struct DeviceInfo: Decodable {
            var devEui: String?
            var deviceProfileName: String?
        }
        struct RxInfo: Decodable {
            var rssi: Int?
        }
        var deduplicationId: String?
        var time: String?
        var deviceInfo: DeviceInfo?
        var fCnt: UInt32?
        var fPort: Int?
        var data: String?
        var rxInfo: [RxInfo]?
    }

    public func parse(topic: String, message: [UInt8]) throws(EnvelopeError) -> EnvelopeEvent {
        let segments = topic.split(separator: "/", omittingEmptySubsequences: false)
        let topicDevice = segments.firstIndex(of: "device").flatMap { $0 + 1 < segments.count ? String(segments[$0 + 1]) : nil }
        let eventType = segments.firstIndex(of: "event").flatMap { $0 + 1 < segments.count ? String(segments[$0 + 1]) : nil } ?? "up"

        let event: UpEvent
        do {
            event = try JSONDecoder().decode(UpEvent.self, from: Data(message))
        } catch let error as DecodingError {
            throw Self.describe(error)
        } catch {
            throw .malformedJSON("\(error)")
        }
        let device = event.deviceInfo?.devEui?.lowercased()
        if let topicDevice, let device, topicDevice.lowercased() != device {
            throw .topicMismatch("topic names device \(topicDevice), payload deviceInfo.devEui is \(device)")
        }
        guard eventType == "up" else {
            return .event(type: eventType, device: device ?? topicDevice?.lowercased())
        }
        guard let device, !device.isEmpty else { throw .missingField("deviceInfo.devEui") }
        guard Self.isHexEUI(device) else { throw .invalidField("deviceInfo.devEui", "'\(device)' is not 16 hex digits") }
        let payload: [UInt8]
        if let data = event.data, !data.isEmpty {
            guard let bytes = Data(base64Encoded: data) else { throw .invalidField("data", "not valid base64") }
            payload = Array(bytes)
        } else {
            payload = []  // MAC-only frame (fPort 0) or no FRMPayload
        }
        var networkTime: EpochMillis?
        if let time = event.time {
            guard let millis = RFC3339.parseMillis(time) else { throw .invalidField("time", "'\(time)' is not an RFC 3339 time") }
            networkTime = millis
        }
        let rx = event.rxInfo ?? []
        return .uplink(Uplink(
            envelope: .chirpstack, device: device, fCnt: event.fCnt, fPort: event.fPort, payload: payload,
            networkTime: networkTime, deduplicationID: event.deduplicationId,
            deviceProfileName: event.deviceInfo?.deviceProfileName,
            gatewayCount: rx.count, bestRSSI: rx.compactMap(\.rssi).max()))
    }

    static func isHexEUI(_ text: String) -> Bool {
        text.utf8.count == 16 && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// Turns Foundation's decoding errors into one line that names the field.
    static func describe(_ error: DecodingError) -> EnvelopeError {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case let .dataCorrupted(context) where context.codingPath.isEmpty:
            return .malformedJSON(context.underlyingError.map { "\($0)" } ?? context.debugDescription)
        case let .dataCorrupted(context):
            return .invalidField(path(context), context.debugDescription)
        case let .typeMismatch(type, context):
            return .invalidField(path(context), "expected \(type)")
        case let .valueNotFound(_, context):
            return .invalidField(path(context), "null")
        case let .keyNotFound(key, context):
            return .missingField((path(context).isEmpty ? "" : path(context) + ".") + key.stringValue)
        @unknown default:
            return .malformedJSON("\(error)")
        }
    }
}
