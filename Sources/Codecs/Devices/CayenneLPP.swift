import Readings

/// Cayenne LPP: `[channel u8][type u8][value]`, big-endian, width fixed by the
/// type (type = IPSO object id − 3200). Base types from the myDevices table,
/// extended types as ChirpStack's `cayenne_lpp.rs` decodes them.
///
/// The LPP channel becomes the reading's channel, so two temperature probes
/// on channels 3 and 5 stay two series.
public struct CayenneLPPCodec: PayloadCodec {
    public let id = "cayenne-lpp"
    public init() {}

    public func decode(_ payload: [UInt8], fPort: Int?) throws(DecodeError) -> DecodeResult {
        guard !payload.isEmpty else { throw .noPayload }
        var reader = ByteReader(payload)
        var result = DecodeResult()
        while !reader.isAtEnd {
            let start = reader.offset
            let channel = Int(try reader.u8("channel"))
            let type = try reader.u8("type")
            let field = "type 0x\(hex(type)) on channel \(channel)"
            switch type {
            case 0x00, 0x01:  // digital in/out: no canonical metric
                result.notes.append("channel \(channel): digital \(type == 0 ? "input" : "output") \(try reader.u8(field)) not mapped to a metric")
            case 0x02, 0x03:  // analog in/out, s16 × 0.01
                let raw = try reader.s16be(field)
                result.notes.append("channel \(channel): analog \(type == 2 ? "input" : "output") \(FixedPoint.decimalString(Int64(raw), decimals: 2)) not mapped to a metric")
            case 0x65:  // illuminance u16 lux
                result.add(.light, Int64(try reader.u16be(field)), channel: channel)
            case 0x66:  // presence u8: a count of detections, not occupancy
                result.add(.motion, Int64(try reader.u8(field)), channel: channel)
            case 0x67:  // temperature s16 × 0.1 °C → 0.01 °C
                try result.add(.temperature, raw: Int64(try reader.s16be(field)), times: 10, channel: channel, field: field)
            case 0x68:  // humidity u8 × 0.5 % → 0.01 %
                try result.add(.relativeHumidity, raw: Int64(try reader.u8(field)), times: 50, channel: channel, field: field)
            case 0x71, 0x86:  // accelerometer / gyrometer: 3 × s16
                try reader.skip(6, field)
                result.notes.append("channel \(channel): \(type == 0x71 ? "accelerometer" : "gyrometer") not mapped to a metric")
            case 0x73:  // barometer u16 × 0.1 hPa → 0.01 hPa
                try result.add(.pressure, raw: Int64(try reader.u16be(field)), times: 10, channel: channel, field: field)
            case 0x88:  // GPS: lat, lon s24 × 0.0001°, alt s24 × 0.01 m
                try reader.skip(9, field)
                result.notes.append("channel \(channel): GPS position not mapped to a metric")
            case 0x74:  // extended: voltage u16 × 0.01 V → mV
                try result.add(.batteryVoltage, raw: Int64(try reader.u16be(field)), times: 10, channel: channel, field: field)
            case 0x7D:  // extended: concentration u16 ppm; which gas is not said, so not guessed
                result.notes.append("channel \(channel): concentration \(try reader.u16be(field)) ppm (gas not specified) not mapped to a metric")
            case 0x82:  // extended: distance u32 × 0.001 m → mm
                result.add(.distance, Int64(try reader.u32be(field)), channel: channel)
            case 0x78, 0x8E:  // extended: percentage u8, switch u8
                result.notes.append("channel \(channel): \(type == 0x78 ? "percentage" : "switch") \(try reader.u8(field)) not mapped to a metric")
            case 0x75, 0x79, 0x80, 0x84:  // current, altitude, power, direction: 2 bytes
                try reader.skip(2, field)
                result.notes.append("channel \(channel): extended type \(type) not mapped to a metric")
            case 0x64, 0x76, 0x83, 0x85:  // generic, frequency, energy, unix time: 4 bytes
                try reader.skip(4, field)
                result.notes.append("channel \(channel): extended type \(type) not mapped to a metric")
            case 0x87:  // colour: 3 × u8
                try reader.skip(3, field)
                result.notes.append("channel \(channel): colour not mapped to a metric")
            default:
                // Width unknown, so nothing after this byte can be read.
                return try stopAtUnknown(result, "unknown Cayenne LPP type 0x\(hex(type)) at byte \(start + 1)", remaining: payload.count - start)
            }
        }
        return result
    }
}

/// An unknown tag ends a tag stream: keep what was decoded, say why the rest
/// was not. A frame whose very first tag is unknown decoded nothing, which is
/// an error, not an empty success.
func stopAtUnknown(_ result: DecodeResult, _ reason: String, remaining: Int) throws(DecodeError) -> DecodeResult {
    if result.values.isEmpty && result.notes.isEmpty { throw .invalid(reason) }
    var result = result
    result.notes.append("\(reason); \(remaining) byte(s) not decoded")
    return result
}

func hex(_ byte: UInt8) -> String {
    let digits: [Character] = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}
