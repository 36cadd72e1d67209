import Readings

/// Cayenne LPP: `[channel u8][type u8][value]`, big-endian, width fixed by the
/// type (type = IPSO object id − 3200). Base types from the myDevices table,
/// extended types as ChirpStack's `cayenne_lpp.rs` decodes them.
///
/// The LPP channel becomes the reading's channel, so two temperature probes
/// on channels 3 and 5 stay two series. Types with no canonical metric
/// (digital I/O, analog, accelerometer, GPS, ...) are read past and noted.
public struct CayenneLPPCodec: PayloadCodec {
    public let id = "cayenne-lpp"
    public init() {}

    public func decode(_ payload: [UInt8], fPort: Int?, into result: inout DecodeResult) throws(DecodeError) {
        guard !payload.isEmpty else { throw .noPayload }
        var reader = ByteReader(payload)
        while !reader.isAtEnd {
            let start = reader.offset
            let channel = Int(try reader.u8("channel"))
            let type = try reader.u8("type")
            func field() -> String { "type 0x\(hex(type)) on channel \(channel)" }
            let c = Int64(channel)
            switch type {
            case 0x00: result.note("channel {}: digital input {} not mapped to a metric", c, Int64(try reader.u8(field())))
            case 0x01: result.note("channel {}: digital output {} not mapped to a metric", c, Int64(try reader.u8(field())))
            case 0x02: result.note("channel {}: analog input {} (× 0.01) not mapped to a metric", c, Int64(try reader.s16be(field())))
            case 0x03: result.note("channel {}: analog output {} (× 0.01) not mapped to a metric", c, Int64(try reader.s16be(field())))
            case 0x65:  // illuminance u16 lux
                result.add(.light, Int64(try reader.u16be(field())), channel: channel)
            case 0x66:  // presence u8: a count of detections, not occupancy
                result.add(.motion, Int64(try reader.u8(field())), channel: channel)
            case 0x67:  // temperature s16 × 0.1 °C → 0.01 °C
                try result.add(.temperature, raw: Int64(try reader.s16be(field())), times: 10, channel: channel, field: field())
            case 0x68:  // humidity u8 × 0.5 % → 0.01 %
                try result.add(.relativeHumidity, raw: Int64(try reader.u8(field())), times: 50, channel: channel, field: field())
            case 0x71:
                try reader.skip(6, field())
                result.note("channel {}: accelerometer not mapped to a metric", c)
            case 0x86:
                try reader.skip(6, field())
                result.note("channel {}: gyrometer not mapped to a metric", c)
            case 0x73:  // barometer u16 × 0.1 hPa → 0.01 hPa
                try result.add(.pressure, raw: Int64(try reader.u16be(field())), times: 10, channel: channel, field: field())
            case 0x88:  // GPS: lat, lon s24 × 0.0001°, alt s24 × 0.01 m
                try reader.skip(9, field())
                result.note("channel {}: GPS position not mapped to a metric", c)
            case 0x74:  // extended: voltage u16 × 0.01 V → mV
                try result.add(.batteryVoltage, raw: Int64(try reader.u16be(field())), times: 10, channel: channel, field: field())
            case 0x7D:  // extended: concentration u16 ppm; which gas is not said, so not guessed
                result.note("channel {}: concentration {} ppm (gas not specified) not mapped to a metric", c, Int64(try reader.u16be(field())))
            case 0x82:  // extended: distance u32 × 0.001 m → mm
                result.add(.distance, Int64(try reader.u32be(field())), channel: channel)
            case 0x78:
                result.note("channel {}: percentage {} not mapped to a metric", c, Int64(try reader.u8(field())))
            case 0x8E:
                result.note("channel {}: switch {} not mapped to a metric", c, Int64(try reader.u8(field())))
            case 0x75, 0x79, 0x80, 0x84:  // current, altitude, power, direction: 2 bytes
                try reader.skip(2, field())
                result.note("channel {}: extended LPP type {} not mapped to a metric", c, Int64(type))
            case 0x64, 0x76, 0x83, 0x85:  // generic, frequency, energy, unix time: 4 bytes
                try reader.skip(4, field())
                result.note("channel {}: extended LPP type {} not mapped to a metric", c, Int64(type))
            case 0x87:
                try reader.skip(3, field())
                result.note("channel {}: colour not mapped to a metric", c)
            default:
                // Width unknown, so nothing after this byte can be read.
                try stopAtUnknown(&result, "unknown Cayenne LPP type 0x\(hex(type)) at byte \(start + 1)", remaining: payload.count - start)
                return
            }
        }
    }
}
