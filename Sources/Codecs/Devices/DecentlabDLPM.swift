import Readings

/// Decentlab DL-PM (particulate matter, T/RH, pressure). All words u16 BE.
/// Spec: TTN lorawan-devices `vendor/decentlab/dl-pm.js`.
///
/// Layout: version (must be 2), device id, a sensor-presence flag word, then
/// the words of each present sensor in flag order. Sensor 2 uses the SHT2x
/// formulas, which are not decimal scalings: in 0.01 units,
/// t = 17572·x/65536 − 4685 and rh = 12500·x/65536 − 600, each rounded half
/// away from zero once (the vendor's float output is not truth).
public struct DecentlabDLPMCodec: PayloadCodec {
    public let id = "decentlab-dl-pm"
    public init() {}

    public func decode(_ payload: [UInt8], fPort: Int?, into result: inout DecodeResult) throws(DecodeError) {
        guard !payload.isEmpty else { throw .noPayload }
        var reader = ByteReader(payload)
        let version = try reader.u8("protocol version")
        guard version == 2 else { throw .invalid("decentlab-dl-pm: protocol version \(version), expected 2") }
        let deviceID = try reader.u16be("device id")
        let flags = try reader.u16be("sensor flags")
        result.note("decentlab device id", Int64(deviceID))
        if flags & 0b1 != 0 {
            result.add(.batteryVoltage, Int64(try reader.u16be("battery voltage")))  // mV
        }
        if flags & 0b10 != 0 {
            let pm1 = try reader.u16be("pm1.0 mass"), pm2_5 = try reader.u16be("pm2.5 mass")
            let pm4 = try reader.u16be("pm4 mass"), pm10 = try reader.u16be("pm10 mass")
            result.add(.pm1, Int64(pm1))          // already 0.1 µg/m³
            result.add(.pm2_5, Int64(pm2_5))
            result.add(.pm10, Int64(pm10))
            result.note("pm4 {} (× 0.1 µg/m³), typical particle size {} nm, not mapped", Int64(pm4), Int64(try reader.u16be("particle size")))
            for name in ["pm0.5", "pm1.0", "pm2.5", "pm4", "pm10"] {
                _ = try reader.u16be("\(name) number concentration")  // 1/cm³, no canonical metric
            }
        }
        if flags & 0b100 != 0 {
            let t = Int64(try reader.u16be("air temperature")), h = Int64(try reader.u16be("air humidity"))
            guard let tScaled = FixedPoint.scale(t, by: 17_572, over: 65_536), let hScaled = FixedPoint.scale(h, by: 12_500, over: 65_536) else {
                throw .overflow(field: "SHT2x conversion")
            }
            // Rounding happens once, in the scale; the offsets are exact.
            result.add(.temperature, tScaled - 4685)
            result.add(.relativeHumidity, hScaled - 600)
        }
        if flags & 0b1000 != 0 {
            // 2·x Pa = x/50 hPa → 0.01 hPa: ×2.
            try result.add(.pressure, raw: Int64(try reader.u16be("barometric pressure")), times: 2, field: "barometric pressure")
        }
        if flags & ~0b1111 != 0 {
            result.note("sensor flags {} name sensors this codec does not know; their words were not read", Int64(flags))
        }
    }
}
