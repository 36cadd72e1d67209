extension VendorEncoders {
    /// One Cayenne LPP value (myDevices table, codecs.md §8), in the type's
    /// own resolution.
    public enum CayenneValue: Sendable {
        case digitalInput(Int), digitalOutput(Int)
        case analogInput(centi: Int), analogOutput(centi: Int)
        case illuminance(lux: Int), presence(Int)
        case temperature(deciC: Int), humidity(halfPercent: Int)
        case accelerometer(milliG: (x: Int, y: Int, z: Int))
        case barometer(deciHectopascal: Int)
        case gyrometer(centiDegreesPerSecond: (x: Int, y: Int, z: Int))
        case gps(latitudeE4: Int, longitudeE4: Int, altitudeCentimetres: Int)

        var bytes: [UInt8] {
            switch self {
            case let .digitalInput(v): return [0x00, UInt8(truncatingIfNeeded: v)]
            case let .digitalOutput(v): return [0x01, UInt8(truncatingIfNeeded: v)]
            case let .analogInput(v): return [0x02] + be16(v)
            case let .analogOutput(v): return [0x03] + be16(v)
            case let .illuminance(v): return [0x65] + be16(v)
            case let .presence(v): return [0x66, UInt8(truncatingIfNeeded: v)]
            case let .temperature(v): return [0x67] + be16(v)
            case let .humidity(v): return [0x68, UInt8(truncatingIfNeeded: v)]
            case let .accelerometer(v): return [0x71] + be16(v.x) + be16(v.y) + be16(v.z)
            case let .barometer(v): return [0x73] + be16(v)
            case let .gyrometer(v): return [0x86] + be16(v.x) + be16(v.y) + be16(v.z)
            case let .gps(lat, lon, alt): return [0x88] + be24(lat) + be24(lon) + be24(alt)
            }
        }
    }

    public static func cayenne(_ values: [(channel: Int, value: CayenneValue)]) -> [UInt8] {
        values.flatMap { [UInt8(truncatingIfNeeded: $0.channel)] + $0.value.bytes }
    }

    /// The simulator's weather node: temperature ch 1, humidity ch 2, barometer ch 3.
    public static func cayenne(temperatureCentiC: Int, humidityCentiPercent: Int, pressureCentiHectopascal: Int) -> [UInt8] {
        cayenne([(1, .temperature(deciC: temperatureCentiC / 10)), (2, .humidity(halfPercent: humidityCentiPercent / 50)),
                 (3, .barometer(deciHectopascal: pressureCentiHectopascal / 10))])
    }
}
