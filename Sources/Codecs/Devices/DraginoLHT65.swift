import Readings

/// Dragino LHT65 / LHT65N: 11 bytes on fPort 2, big-endian.
/// Spec: TTN lorawan-devices `vendor/dragino/lht65.js`.
///
/// The internal SHT sensor has no channel; the external DS18B20 probe is
/// channel 1. A probe value of 0x7FFF means "no reading" (a real ChirpStack
/// uplink shows it decoded as 327.67 °C): a sentinel, not a temperature.
public struct DraginoLHT65Codec: PayloadCodec {
    public let id = "dragino-lht65"
    public init() {}

    public func decode(_ payload: [UInt8], fPort: Int?, into result: inout DecodeResult) throws(DecodeError) {
        guard fPort == 2 else { throw .unsupportedPort(codec: id, fPort: fPort) }
        guard payload.count == 11 else {
            throw .invalid("dragino-lht65: frame is \(payload.count) bytes, expected 11")
        }
        var reader = ByteReader(payload)
        let batteryWord = try reader.u16be("battery")
        let temperature = try reader.s16be("TempC_SHT")
        let humidity = try reader.u16be("Hum_SHT") & 0x0FFF
        let ext = try reader.u8("ext")
        if ext & 0x40 != 0 {
            result.note("poll reply (datalog), no live reading")
            return
        }
        let extType = ext & 0x0F
        // Type 9 puts the probe temperature where the battery usually is.
        if extType != 9 {
            result.add(.batteryVoltage, Int64(batteryWord & 0x3FFF))
        }
        if UInt16(bitPattern: temperature) == 0x7FFF {
            result.sentinel("internal temperature: no reading")
        } else {
            result.add(.temperature, Int64(temperature))  // already 0.01 °C
        }
        try result.add(.relativeHumidity, raw: Int64(humidity), times: 10, field: "Hum_SHT")
        switch extType {
        case 1:
            let probe = try reader.s16be("TempC_DS")
            if ext & 0x80 != 0 || UInt16(bitPattern: probe) == 0x7FFF {
                result.sentinel("external probe: no reading")
            } else {
                result.add(.temperature, Int64(probe), channel: 1)
            }
        case 0:
            result.note("no external sensor")
        default:
            result.note("external sensor type {} not mapped to a metric", Int64(extType))
        }
    }
}
