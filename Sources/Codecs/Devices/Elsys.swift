import Readings

/// Elsys (ERS, ERS CO2, ERS Eye, ELT Ultrasonic): `[type u8][value]`, big-endian,
/// width fixed by the type. Spec: TTN lorawan-devices `vendor/elsys/elsys.js`.
/// The vendor decoder ignores the fPort, and so does this one.
///
/// Channels: the internal sensor has none; external probe 1 (`0x0C`) is
/// channel 1 and probe 2 (`0x19`) channel 2, so they never mix with the
/// internal temperature in a window.
public struct ElsysCodec: PayloadCodec {
    public let id = "elsys"
    public init() {}

    public func decode(_ payload: [UInt8], fPort: Int?, into result: inout DecodeResult) throws(DecodeError) {
        guard !payload.isEmpty else { throw .noPayload }
        var reader = ByteReader(payload)
        while !reader.isAtEnd {
            let start = reader.offset
            let type = try reader.u8("type")
            func field() -> String { "type 0x\(hex(type))" }
            switch type {
            case 0x01:  // temperature s16 /10 °C
                try result.add(.temperature, raw: Int64(try reader.s16be(field())), times: 10, field: field())
            case 0x02:  // humidity u8 %
                try result.add(.relativeHumidity, raw: Int64(try reader.u8(field())), times: 100, field: field())
            case 0x03:  // accelerometer 3 × s8
                try reader.skip(3, field())
                result.note("acceleration not mapped to a metric")
            case 0x04:
                result.add(.light, Int64(try reader.u16be(field())))
            case 0x05:
                result.add(.motion, Int64(try reader.u8(field())))
            case 0x06:
                result.add(.co2, Int64(try reader.u16be(field())))
            case 0x07:
                result.add(.batteryVoltage, Int64(try reader.u16be(field())))
            case 0x08, 0x18:
                result.note("analog input mV not mapped to a metric:", Int64(try reader.u16be(field())))
            case 0x0A, 0x16:
                result.note("pulse count not mapped to a metric:", Int64(try reader.u16be(field())))
            case 0x0B, 0x17:  // absolute pulse count u32 (unsigned, unlike the JS decoder)
                result.note("absolute pulse count not mapped to a metric:", Int64(try reader.u32be(field())))
            case 0x0C:  // external temperature 1
                try result.add(.temperature, raw: Int64(try reader.s16be(field())), times: 10, channel: 1, field: field())
            case 0x19:  // external temperature 2
                try result.add(.temperature, raw: Int64(try reader.s16be(field())), times: 10, channel: 2, field: field())
            case 0x0D, 0x1A:
                result.note("digital input not mapped to a metric:", Int64(try reader.u8(field())))
            case 0x0E:  // external distance mm (ELT Ultrasonic)
                result.add(.distance, Int64(try reader.u16be(field())))
            case 0x0F:
                result.note("acceleration motion count not mapped to a metric:", Int64(try reader.u8(field())))
            case 0x10:
                try reader.skip(4, field())
                result.note("IR temperature not mapped to a metric")
            case 0x11:  // occupancy: the vendor decoder defines no enum for it
                result.note("occupancy raw {} not mapped to a metric", Int64(try reader.u8(field())))
            case 0x12:
                result.note("water leak not mapped to a metric:", Int64(try reader.u8(field())))
            case 0x13:  // grideye: reference + 64 pixels
                try reader.skip(65, field())
                result.note("grideye frame not mapped to a metric")
            case 0x14:  // pressure u32 /1000 hPa → 0.01 hPa
                try result.add(.pressure, raw: Int64(try reader.u32be(field())), times: 1, over: 10, field: field())
            case 0x15:
                try reader.skip(2, field())
                result.note("sound level not mapped to a metric")
            case 0x1B:
                try reader.skip(4, field())
                result.note("analog µV not mapped to a metric")
            case 0x1C:
                result.add(.tvoc, Int64(try reader.u16be(field())))
            default:
                try stopAtUnknown(&result, "unknown Elsys type 0x\(hex(type)) at byte \(start)", remaining: payload.count - start)
                return
            }
        }
    }
}
