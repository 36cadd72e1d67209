import Readings

/// Dragino LDDS75 (v1.1.4) and DDS75-LB ultrasonic distance sensors on
/// fPort 2, big-endian. Specs: dragino-end-node-decoder `LDDS75/LDDS75_Decoder_V1.1.4.js`,
/// `DDS75-LB/DDS75-LB TTN Decoder.txt`.
///
/// - battery: u16 & 0x3FFF mV (status bits above); the DDS75-LB multi-read
///   layout (byte0 & 0x10) masks 0x0FFF and carries up to 20 extra distances.
/// - distance: u16 mm; below 20 mm the vendor reports "Invalid Reading" and
///   a frame of another length "No Sensor": both are sentinels, not distances.
/// - DS18B20 probe: s16, /10 °C on the LDDS75 and /100 °C on the DDS75-LB
///   (the decoders differ); channel 1.
public struct DraginoDistanceCodec: PayloadCodec {
    public enum Model: String, Sendable { case ldds75 = "dragino-ldds75", dds75lb = "dragino-dds75-lb" }
    public let model: Model
    public var id: String { model.rawValue }

    public init(model: Model) { self.model = model }

    public func decode(_ payload: [UInt8], fPort: Int?, into result: inout DecodeResult) throws(DecodeError) {
        guard fPort == 2 else { throw .unsupportedPort(codec: id, fPort: fPort) }
        let multiRead = model == .dds75lb && payload.count > 8 && payload[0] & 0x10 != 0
        guard payload.count == 8 || multiRead else {
            result.sentinel("No Sensor (frame of {} bytes)", Int64(payload.count))
            return
        }
        var reader = ByteReader(payload)
        let battery = try reader.u16be("battery")
        result.add(.batteryVoltage, Int64(battery & (multiRead ? 0x0FFF : 0x3FFF)))
        addDistance(try reader.u16be("distance"), to: &result)
        if multiRead {
            try reader.skip(4, "multi-read header")
            while reader.remaining > 4 {
                addDistance(try reader.u16be("extra distance"), to: &result)
            }
        }
        let interrupt = try reader.u8("interrupt flag")
        if interrupt != 0 { result.note("interrupt flag", Int64(interrupt)) }
        let probe = try reader.s16be("DS18B20 temperature")
        let sensorFlag = try reader.u8("sensor flag")
        if sensorFlag != 1 { result.note("ultrasonic sensor not detected (flag {})", Int64(sensorFlag)) }
        if UInt16(bitPattern: probe) == 0x7FFF || probe == 0 {
            result.sentinel("DS18B20 probe: no reading")
        } else {
            try result.add(.temperature, raw: Int64(probe), times: model == .ldds75 ? 10 : 1, channel: 1, field: "DS18B20 temperature")
        }
    }

    func addDistance(_ raw: UInt16, to result: inout DecodeResult) {
        if raw < 20 { result.sentinel("distance: Invalid Reading ({} mm)", Int64(raw)) }
        else { result.add(.distance, Int64(raw)) }
    }
}
