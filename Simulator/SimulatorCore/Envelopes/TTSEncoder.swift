import Foundation
import Readings

/// Wraps a frame in a The Things Stack v3 uplink message as its MQTT server
/// publishes it on `v3/{application}@{tenant}/devices/{device}/up` (fields as
/// in the TTS docs' examples copied under `Tests/CodecsTests/Fixtures/envelopes/tts_v3`).
public enum TTSEncoder {
    public static let applicationID = "city-pilot"
    public static let tenantID = "ttn"

    public static func deviceID(_ device: SimulatedDevice) -> String { "eui-\(device.devEUI)" }

    public static func topic(for device: SimulatedDevice) -> String {
        "v3/\(applicationID)@\(tenantID)/devices/\(deviceID(device))/up"
    }

    public static func uplink(_ frame: SimulatedFrame, gateways: [(id: String, rssi: Int, snr: String)], correlationID: String) -> [UInt8] {
        let device = frame.device
        let time = RFC3339.format(frame.time)
        let body = JSONText.object([
            ("end_device_ids", .object([
                ("device_id", .string(deviceID(device))),
                ("application_ids", .object([("application_id", .string(applicationID))])),
                ("dev_eui", .string(device.devEUI.uppercased())),
                ("join_eui", .string("0000000000000000")),
                ("dev_addr", .string(String(device.devEUI.suffix(8)).uppercased())),
            ])),
            ("correlation_ids", .array([.string("as:up:\(correlationID)")])),
            ("received_at", .string(time)),
            ("uplink_message", .object([
                ("session_key_id", .string("AXBSH1Pk6Z0G166907Kd5A==")),
                ("f_port", .integer(Int64(frame.fPort))),
                ("f_cnt", .integer(Int64(frame.fCnt))),
                ("frm_payload", .string(Data(frame.payload).base64EncodedString())),
                ("rx_metadata", .array(gateways.map { gateway in
                    .object([
                        ("gateway_ids", .object([("gateway_id", .string(gateway.id)), ("eui", .string(gateway.id.uppercased()))])),
                        ("time", .string(time)), ("rssi", .integer(Int64(gateway.rssi))), ("channel_rssi", .integer(Int64(gateway.rssi))),
                        ("snr", .number(gateway.snr)), ("received_at", .string(time)),
                    ])
                })),
                ("settings", .object([
                    ("data_rate", .object([("lora", .object([("bandwidth", .integer(125_000)), ("spreading_factor", .integer(7)),
                                                             ("coding_rate", .string("4/5"))]))])),
                    ("frequency", .string("868300000")),
                ])),
                ("received_at", .string(time)),
                ("consumed_airtime", .string("0.061696s")),
            ])),
        ])
        return Array(body.serialized().utf8)
    }
}
