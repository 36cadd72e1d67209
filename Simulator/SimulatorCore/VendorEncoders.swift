import Readings

/// The simulator's own payload encoders, written from the vendor specs
/// (`../shared/reference/codecs.md`), not by inverting the gateway's decoders.
/// Inputs are in the vendor's raw units (the resolution the device sends),
/// so each value is exactly representable.
public enum VendorEncoders {
    static func be16(_ v: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)] }
    static func le16(_ v: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)] }
    static func be24(_ v: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: v >> 16)] + be16(v) }

    // MARK: Elsys

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

    // MARK: Milesight (LoRaWAN channels and the NB-IoT frame)

    /// One Milesight channel: `[id][type][data LE]` (codecs.md §2).
    public enum MilesightChannel: Sendable {
        case battery(percent: Int)                 // 01 75 u8
        case temperature(deciC: Int)               // 03 67 s16 /10 °C
        case humidity(halfPercent: Int)            // 04 68 u8 /2 %
        case distance(millimetres: Int)            // 03 82 u16 mm (EM310-UDL, EM500-UDL)
        case position(tilted: Bool)                // 04 00 u8 (EM310-UDL)
        case distanceEM400(millimetres: Int)       // 04 82 u16 mm (EM400-UDL)
        case positionEM400(tilted: Bool)           // 05 00 u8 (EM400-UDL)

        var bytes: [UInt8] {
            switch self {
            case let .battery(p): return [0x01, 0x75, UInt8(truncatingIfNeeded: p)]
            case let .temperature(t): return [0x03, 0x67] + le16(t)
            case let .humidity(h): return [0x04, 0x68, UInt8(truncatingIfNeeded: h)]
            case let .distance(mm): return [0x03, 0x82] + le16(mm)
            case let .position(tilted): return [0x04, 0x00, tilted ? 1 : 0]
            case let .distanceEM400(mm): return [0x04, 0x82] + le16(mm)
            case let .positionEM400(tilted): return [0x05, 0x00, tilted ? 1 : 0]
            }
        }
    }

    public static func milesight(_ channels: [MilesightChannel]) -> [UInt8] { channels.flatMap(\.bytes) }

    /// Milesight EM310-UDL: 01 75 battery %, 03 82 distance u16 LE mm.
    public static func milesightUltrasonic(batteryPercent: Int, distanceMillimetres: Int) -> [UInt8] {
        milesight([.battery(percent: batteryPercent), .distance(millimetres: distanceMillimetres)])
    }

    /// The identity a Milesight NB-IoT device writes into every frame header.
    public struct CellularIdentity: Sendable, Equatable {
        public var id: Int = 1
        public var firmware = "0101", hardware = "0110"
        public var serial: String
        public var imei: String, imsi: String, iccid: String

        public init(id: Int = 1, firmware: String = "0101", hardware: String = "0110", serial: String, imei: String, imsi: String, iccid: String) {
            self.id = id
            self.firmware = firmware
            self.hardware = hardware
            self.serial = serial
            self.imei = imei
            self.imsi = imsi
            self.iccid = iccid
        }
    }

    /// The Milesight NB-IoT ("-cellular") frame (codecs.md §2a): big-endian
    /// header with ASCII identity fields, then the LoRaWAN channel payload.
    /// `length` is written as total − 5, as in the vendor's EM400-UDL sample.
    public static func milesightNBIoT(_ identity: CellularIdentity, frameCount: UInt16, signalQuality: UInt8, payload: [UInt8],
                                      flag: UInt8 = 0, protocolVersion: UInt8 = 1) -> [UInt8] {
        func ascii(_ text: String, _ size: Int) -> [UInt8] {
            let bytes = Array(text.utf8.prefix(size))
            return bytes + [UInt8](repeating: 0x30, count: size - bytes.count)
        }
        let total = 86 + payload.count
        var frame: [UInt8] = [0x02] + be16(identity.id) + be16(total - 5) + [flag] + be16(Int(frameCount)) + [protocolVersion]
        frame += ascii(identity.firmware, 4) + ascii(identity.hardware, 4) + ascii(identity.serial, 16)
        frame += ascii(identity.imei, 15) + ascii(identity.imsi, 15) + ascii(identity.iccid, 20)
        frame += [signalQuality] + be16(payload.count) + payload
        return frame
    }

    // MARK: Bosch, Nwave (parking)

    /// Bosch TPS110 parking status on fPort 1: bit 0 = occupied.
    public static func boschParkingStatus(occupied: Bool) -> [UInt8] { [occupied ? 0x01 : 0x00] }

    /// Nwave NPS405 status on fPort 1 (decoder @62c8acdd): bit 0 occupied,
    /// bits 7..1 the previous state's duration compressed: under 90 min
    /// exact, to 240 in 5-minute steps, to 660 in hours, then "overflow".
    public static func nwaveParkingStatus(occupied: Bool, previousStateMinutes minutes: Int) -> [UInt8] {
        let code: Int
        switch minutes {
        case ..<0: code = 0
        case ..<90: code = minutes
        case ..<240: code = 90 + (minutes - 90) / 5
        case ..<660: code = 120 + (minutes - 240) / 60
        default: code = 127
        }
        return [UInt8(code << 1) | (occupied ? 1 : 0)]
    }

    // MARK: Dragino

    /// Dragino LHT65 on fPort 2: battery (status bits 15..14 = 3 "good") mV, SHT temp s16 /100,
    /// SHT RH u16 /10, ext type 1 (DS18B20) with the probe temp s16 /100 (7FFF: no reading), two unused bytes 7FFF.
    public static func draginoLHT65(batteryMillivolts: Int, temperatureCentiC: Int, humidityDeciPercent: Int, probeCentiC: Int?) -> [UInt8] {
        let battery = 0xC000 | (batteryMillivolts & 0x3FFF)
        let probe = probeCentiC.map { be16($0) } ?? [0x7F, 0xFF]
        return be16(battery) + be16(temperatureCentiC) + be16(humidityDeciPercent) + [0x01] + probe + [0x7F, 0xFF]
    }

    /// Dragino LDDS75 v1.1.4 on fPort 2 (8 bytes): battery mV (status bits
    /// 15..14 = 3), distance u16 mm (under 20: "Invalid Reading"), interrupt
    /// flag, DS18B20 s16 /10 °C (0 when no probe is fitted), sensor flag 1.
    public static func draginoLDDS75(batteryMillivolts: Int, distanceMillimetres: Int, probeDeciC: Int?, interrupt: Bool = false) -> [UInt8] {
        be16(0xC000 | (batteryMillivolts & 0x3FFF)) + be16(distanceMillimetres) + [interrupt ? 1 : 0] + be16(probeDeciC ?? 0) + [0x01]
    }

    // MARK: Cayenne LPP

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
