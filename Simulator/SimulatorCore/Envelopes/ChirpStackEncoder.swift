import Foundation
import Readings

/// Wraps a frame in a ChirpStack v4 `up` event, shaped like the real
/// integration output (`api/proto/integration/integration.proto`, JSON
/// mapping; see the captures under `Tests/.../Fixtures/envelopes`).
public enum ChirpStackEncoder {
    public static let applicationID = "b3d1c2a4-1f0e-4c77-9a55-5c9e2f7d8a10"
    public static let tenantID = "52f14cd4-c6f1-4fbd-8f87-4025e1d49242"

    public static func topic(for device: SimulatedDevice) -> String {
        "application/\(applicationID)/device/\(device.devEUI)/event/up"
    }

    public static func joinTopic(for device: SimulatedDevice) -> String {
        "application/\(applicationID)/device/\(device.devEUI)/event/join"
    }

    /// A `join` event (OTAA join accepted): the device starts a new session.
    public static func join(_ device: SimulatedDevice, deduplicationID: String, time millis: EpochMillis) -> [UInt8] {
        Array(JSONText.object([
            ("deduplicationId", .string(deduplicationID)),
            ("time", .string(timeWithNanoseconds(millis))),
            ("deviceInfo", .object([
                ("tenantId", .string(tenantID)), ("applicationId", .string(applicationID)),
                ("deviceProfileName", .string(device.model.profileName)), ("deviceName", .string(device.name)),
                ("devEui", .string(device.devEUI)),
            ])),
            ("devAddr", .string(String(device.devEUI.suffix(8)))),
        ]).serialized().utf8)
    }

    public static func event(_ frame: SimulatedFrame, deduplicationID: String, gatewayRSSI: Int, gatewaySNR: String) -> [UInt8] {
        event(frame, deduplicationID: deduplicationID, gateways: [("0016c001ff10a235", gatewayRSSI, gatewaySNR)])
    }

    /// With one `rxInfo` entry per gateway that heard the frame.
    public static func event(_ frame: SimulatedFrame, deduplicationID: String, gateways: [(id: String, rssi: Int, snr: String)]) -> [UInt8] {
        let device = frame.device
        let time = timeWithNanoseconds(frame.time)
        let body = JSONText.object([
            ("deduplicationId", .string(deduplicationID)),
            ("time", .string(time)),
            ("deviceInfo", .object([
                ("tenantId", .string(tenantID)), ("tenantName", .string("City pilot")),
                ("applicationId", .string(applicationID)), ("applicationName", .string("citygate-sim")),
                ("deviceProfileId", .string("0b7b4b1a-3c8e-4a55-b0f4-\(device.devEUI.suffix(12))")),
                ("deviceProfileName", .string(device.model.profileName)),
                ("deviceName", .string(device.name)), ("devEui", .string(device.devEUI)),
                ("deviceClassEnabled", .string("CLASS_A")), ("tags", .object([])),
            ])),
            ("devAddr", .string(String(device.devEUI.suffix(8)))),
            ("adr", .bool(true)), ("dr", .integer(5)),
            ("fCnt", .integer(Int64(frame.fCnt))), ("fPort", .integer(Int64(frame.fPort))),
            ("confirmed", .bool(false)),
            ("data", .string(Data(frame.payload).base64EncodedString())),
            ("rxInfo", .array(gateways.map { gateway in .object([
                ("gatewayId", .string(gateway.id)), ("uplinkId", .integer(Int64(frame.fCnt % 65_536))),
                ("nsTime", .string(time)), ("rssi", .integer(Int64(gateway.rssi))), ("snr", .number(gateway.snr)),
                ("channel", .integer(2)), ("location", .object([])), ("context", .string("EFwFRA==")),
                ("metadata", .object([("region_config_id", .string("eu868")), ("region_common_name", .string("EU868"))])),
                ("crcStatus", .string("CRC_OK")),
            ]) })),
            ("txInfo", .object([
                ("frequency", .integer(868_300_000)),
                ("modulation", .object([("lora", .object([("bandwidth", .integer(125_000)), ("spreadingFactor", .integer(7)), ("codeRate", .string("CR_4_5"))]))])),
            ])),
            ("regionConfigId", .string("eu868")),
        ])
        return Array(body.serialized().utf8)
    }

    /// `2026-11-20T10:15:00.123000000+00:00`, as ChirpStack writes times.
    static func timeWithNanoseconds(_ millis: EpochMillis) -> String {
        let base = RFC3339.format(millis - millis % 1000).dropLast()  // drop "Z"
        let ms = Int(millis % 1000)
        let fraction = String(ms).count < 3 ? String(repeating: "0", count: 3 - String(ms).count) + String(ms) : String(ms)
        return "\(base).\(fraction)000000+00:00"
    }
}
