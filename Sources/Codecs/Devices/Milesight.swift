import Readings

/// Milesight IPSO-style channels: `[channel id u8][channel type u8][data]`,
/// **little-endian**. Spec: Milesight-IoT/SensorDecoders and TTN
/// lorawan-devices `vendor/milesight-iot`. The vendor decoders ignore the
/// fPort, and so does this one.
///
/// Some (id, type) pairs mean different things per model (`05 00` is PIR on
/// the AM307 and tilt on the EM400; history records are 7, 8 or 9 bytes), so
/// the model decides. The family codec (`milesight`) decodes everything that
/// is unambiguous and notes the rest.
public struct MilesightCodec: PayloadCodec {
    public enum Model: String, Sendable, CaseIterable {
        case am307 = "am307", am319 = "am319"
        case em300th = "em300-th", em320th = "em320-th"
        case em500co2 = "em500-co2"
        case em310udl = "em310-udl", em400udl = "em400-udl", em500udl = "em500-udl"
        case ws201 = "ws201"

        var isAmbience: Bool { self == .am307 || self == .am319 }
    }

    public let model: Model?
    public var id: String { model.map { "milesight:\($0.rawValue)" } ?? "milesight" }

    public init(model: Model? = nil) { self.model = model }

    public func decode(_ payload: [UInt8], fPort: Int?, into result: inout DecodeResult) throws(DecodeError) {
        guard !payload.isEmpty else { throw .noPayload }
        var reader = ByteReader(payload)
        try decodeChannels(&reader, into: &result)
    }

    /// Also used for the sensor payload inside the NB-IoT frame.
    func decodeChannels(_ reader: inout ByteReader, into result: inout DecodeResult) throws(DecodeError) {
        while !reader.isAtEnd {
            let start = reader.offset
            let channel = try reader.u8("channel id")
            let type = try reader.u8("channel type")
            func field() -> String { "channel \(hex(channel)) \(hex(type))" }
            switch (channel, type) {
            case (0x01, 0x75):
                try result.add(.batteryLevel, raw: Int64(try reader.u8(field())), times: 1, field: field())
            case (0x03, 0x67), (0x83, 0x67):  // temperature s16 /10 °C (0x83: + alarm byte)
                let raw = try reader.s16le(field())
                if channel == 0x83 { try reader.skip(1, "\(field()) alarm") }
                if Self.isTemperatureSentinel(raw) {
                    Self.noteTemperatureSentinel(raw, into: &result)
                } else {
                    try result.add(.temperature, raw: Int64(raw), times: 10, field: field())
                }
            case (0x04, 0x68):  // humidity u8 /2 %
                let raw = try reader.u8(field())
                if raw == 0xFF { result.sentinel("humidity collection error") }
                else { try result.add(.relativeHumidity, raw: Int64(raw), times: 50, field: field()) }
            case (0x04, 0x9A):  // humidity u16 /10 % (EM320-TH v2)
                let raw = try reader.u16le(field())
                if raw == 0xFFFF { result.sentinel("humidity collection error") }
                else { try result.add(.relativeHumidity, raw: Int64(raw), times: 10, field: field()) }
            case (0x05, 0x00):  // PIR on AM3xx, tilt on EM400-UDL
                let raw = try reader.u8(field())
                if model?.isAmbience == true { result.add(.motion, Int64(raw)) }
                else if model == nil { result.note("channel 05 00 = {}: PIR on AM3xx, tilt on EM400; set the model to decode it", Int64(raw)) }
                else if raw == 1 { result.note("position tilt") }
                else { result.note("position normal") }
            case (0x05, 0x6A):  // activity counter, older AM307 firmware
                result.note("activity {} (older AM307 firmware) not mapped to a metric", Int64(try reader.u16le(field())))
            case (0x06, 0x65):  // illumination, infrared+visible, infrared (older AM307)
                result.add(.light, Int64(try reader.u16le(field())))
                try reader.skip(4, field())
            case (0x06, 0xCB):
                result.note("light level {} (a 0–5 level, not lux) not mapped to a metric", Int64(try reader.u8(field())))
            case (0x07, 0x7D), (0x05, 0x7D):  // CO2 ppm (AM: 07, EM500-CO2: 05)
                result.add(.co2, Int64(try reader.u16le(field())))
            case (0x08, 0x7D):
                // Same bytes, two meanings: raw in the TTN-era decoder, /100 "IAQ"
                // in the current one. Not guessed.
                result.note("tvoc raw {} (unit differs between firmware versions) not mapped", Int64(try reader.u16le(field())))
            case (0x08, 0xE6):
                result.note("tvoc {} µg/m³ not mapped to a metric", Int64(try reader.u16le(field())))
            case (0x09, 0x73), (0x06, 0x73):  // pressure u16 /10 hPa
                try result.add(.pressure, raw: Int64(try reader.u16le(field())), times: 10, field: field())
            case (0x0A, 0x7D):  // HCHO u16 /100 mg/m³
                result.add(.hcho, Int64(try reader.u16le(field())))
            case (0x0B, 0x7D):  // PM2.5 µg/m³ → 0.1
                try result.add(.pm2_5, raw: Int64(try reader.u16le(field())), times: 10, field: field())
            case (0x0C, 0x7D):
                try result.add(.pm10, raw: Int64(try reader.u16le(field())), times: 10, field: field())
            case (0x0D, 0x7D):
                result.note("o3 {} (× 0.01 ppm) not mapped to a metric", Int64(try reader.u16le(field())))
            case (0x0E, 0x01):
                result.note("buzzer", Int64(try reader.u8(field())))
            case (0x03, 0x82), (0x04, 0x82), (0x84, 0x82):  // distance u16 mm (0x84: + alarm byte)
                result.add(.distance, Int64(try reader.u16le(field())))
                if channel == 0x84 { try reader.skip(1, "\(field()) alarm") }
            case (0x04, 0x00):
                if try reader.u8(field()) == 1 { result.note("position tilt") } else { result.note("position normal") }
            case (0x04, 0xD6):
                result.note("remaining {} % (WS201) not mapped to a metric", Int64(try reader.u8(field())))
            case (0x06, 0x88):  // location, NB-IoT EM400
                try reader.skip(9, field())
                result.note("location not mapped to a metric")
            case (0xFF, 0x01), (0xFF, 0x0F), (0xFF, 0x0B), (0xFF, 0x0E):
                try reader.skip(1, field())
            case (0xFF, 0x09), (0xFF, 0x0A), (0xFF, 0x02):
                try reader.skip(2, field())
            case (0xFF, 0x16):
                try reader.skip(8, field())
            case (0x20, 0xCE) where model != nil:
                try decodeHistoryRecord(&reader, model: model!, into: &result)
            default:
                // History records (20 CE) and anything new: the width depends on
                // the model or is unknown, so the rest of the frame cannot be read.
                let remaining = reader.bytes.count - start
                try stopAtUnknown(&result, "Milesight channel \(hex(channel)) \(hex(type)) at byte \(start) not decoded", remaining: remaining)
                return
            }
        }
    }

    /// History records (`20 CE`): a u32 LE Unix time, then per-model fields.
    /// Record lengths per model from codecs.md; fields are decoded where the
    /// vendor documents them, otherwise the record is skipped with a note.
    func decodeHistoryRecord(_ reader: inout ByteReader, model: Model, into result: inout DecodeResult) throws(DecodeError) {
        let time = EpochMillis(try reader.u32le("history timestamp")) * 1000
        switch model {
        case .em300th, .em320th:
            let temperature = try reader.s16le("history temperature")
            let humidity = try reader.u8("history humidity")
            if model == .em300th { try reader.skip(1, "history padding") }
            if Self.isTemperatureSentinel(temperature) { Self.noteTemperatureSentinel(temperature, into: &result) }
            else if let value = FixedPoint.scale(Int64(temperature), by: 10, over: 1) { result.add(.temperature, value, time: time) }
            if humidity == 0xFF { result.sentinel("history humidity collection error") }
            else { result.add(.relativeHumidity, Int64(humidity) * 50, time: time) }
        case .em500udl:
            result.add(.distance, Int64(try reader.u16le("history distance")), time: time)
        default:
            let lengths: [Model: Int] = [.am307: 16, .am319: 22, .em500co2: 11, .em310udl: 6, .em400udl: 6, .ws201: 6]
            let length = lengths[model] ?? 4
            try reader.skip(length - 4, "history record")
            result.note(detail: "history record at \(RFC3339.format(time)) not decoded (fields for \(model.rawValue) not documented here)")
        }
    }

    /// 0x8001 collection error, 0x8002 below range, 0x8003 above range
    /// (EM320-TH v2 decoder); never a temperature.
    static func isTemperatureSentinel(_ raw: Int16) -> Bool {
        (0x8001...0x8003).contains(UInt16(bitPattern: raw))
    }

    static func noteTemperatureSentinel(_ raw: Int16, into result: inout DecodeResult) {
        switch UInt16(bitPattern: raw) {
        case 0x8001: result.sentinel("temperature collection error")
        case 0x8002: result.sentinel("temperature below range")
        default: result.sentinel("temperature above range")
        }
    }
}
