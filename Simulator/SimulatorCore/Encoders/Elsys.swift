extension VendorEncoders {
    /// One Elsys field: `[type][value BE]`, the size fixed by the type (codecs.md §1).
    public enum ElsysField: Sendable {
        case temperature(deciC: Int)        // 01 s16 /10 °C
        case humidity(percent: Int)         // 02 u8 %
        case light(lux: Int)                // 04 u16
        case motion(count: Int)             // 05 u8
        case co2(ppm: Int)                  // 06 u16
        case battery(millivolts: Int)       // 07 u16 VDD
        case occupancy(Int)                 // 11 u8 (ERS Eye)

        var bytes: [UInt8] {
            switch self {
            case let .temperature(t): return [0x01] + be16(t)
            case let .humidity(h): return [0x02, UInt8(truncatingIfNeeded: h)]
            case let .light(l): return [0x04] + be16(l)
            case let .motion(m): return [0x05, UInt8(truncatingIfNeeded: m)]
            case let .co2(c): return [0x06] + be16(c)
            case let .battery(v): return [0x07] + be16(v)
            case let .occupancy(o): return [0x11, UInt8(truncatingIfNeeded: o)]
            }
        }
    }

    public static func elsys(_ fields: [ElsysField]) -> [UInt8] { fields.flatMap(\.bytes) }

    /// Elsys ERS CO2 as the simulator sends it: temperature, RH, light, motion, CO2, VDD.
    public static func elsys(temperatureCentiC: Int, humidityPercent: Int, light: Int, motion: Int, co2: Int, batteryMillivolts: Int) -> [UInt8] {
        elsys([.temperature(deciC: temperatureCentiC / 10), .humidity(percent: humidityPercent), .light(lux: light), .motion(count: motion),
               .co2(ppm: co2), .battery(millivolts: batteryMillivolts)])
    }
}
