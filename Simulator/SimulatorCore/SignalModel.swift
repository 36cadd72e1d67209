import Readings

/// SplitMix64: a small seeded generator, so a run can be repeated exactly.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One frame the simulator produced: the bytes and the canonical values it
/// encoded (what the gateway should decode), for the run's manifest.
public struct SimulatedFrame: Sendable, Equatable {
    public var device: SimulatedDevice
    public var fCnt: UInt32
    public var fPort: Int
    public var payload: [UInt8]
    public var time: EpochMillis
    public var values: [DecodedValue]
}

/// Plausible signals per kind, with a daily shape: rush-hour CO2, bins that
/// fill and are emptied, parking that turns over, damp homes at night.
public struct SignalModel: Sendable {
    var generator: SeededGenerator
    var binDistance: [DeviceID: Int] = [:]
    var occupied: [DeviceID: Bool] = [:]

    public init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    mutating func jitter(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }

    /// Hour of day (0–23) in UTC of a time.
    static func hour(_ time: EpochMillis) -> Int { Int((time / 3_600_000) % 24) }

    public mutating func frame(for device: SimulatedDevice, fCnt: UInt32, time: EpochMillis) -> SimulatedFrame {
        let hour = Self.hour(time)
        let rush = (7...9).contains(hour) || (17...19).contains(hour)
        var values: [DecodedValue] = []
        let payload: [UInt8]
        switch device.model {
        case .elsysERSCO2:
            let temperature = (150 + jitter(0...80)) * 10           // 15.0–23.0 °C in 0.1 steps
            let humidity = 35 + jitter(0...30)                       // whole %
            let co2 = (rush ? 650 : 420) + jitter(0...250)
            let light = hour >= 7 && hour <= 20 ? 200 + jitter(0...800) : jitter(0...20)
            let motion = jitter(0...9)
            let battery = 3600 - jitter(0...30)
            payload = VendorEncoders.elsys(temperatureCentiC: temperature, humidityPercent: humidity, light: light, motion: motion, co2: co2, batteryMillivolts: battery)
            values = [
                DecodedValue(metric: .temperature, value: Int64(temperature)),
                DecodedValue(metric: .relativeHumidity, value: Int64(humidity * 100)),
                DecodedValue(metric: .light, value: Int64(light)),
                DecodedValue(metric: .motion, value: Int64(motion)),
                DecodedValue(metric: .co2, value: Int64(co2)),
                DecodedValue(metric: .batteryVoltage, value: Int64(battery)),
            ]
        case .milesightEM310:
            // The bin fills (distance to the rubbish shrinks) until it is emptied.
            var distance = binDistance[device.devEUI] ?? 1800
            distance -= jitter(5...40)
            if distance < 250 { distance = 1800 }
            binDistance[device.devEUI] = distance
            let battery = 92 + jitter(0...3)
            payload = VendorEncoders.milesightUltrasonic(batteryPercent: battery, distanceMillimetres: distance)
            values = [DecodedValue(metric: .batteryLevel, value: Int64(battery)), DecodedValue(metric: .distance, value: Int64(distance))]
        case .boschTPS110:
            var state = occupied[device.devEUI] ?? false
            if jitter(0...99) < (rush ? 40 : 15) { state.toggle() }
            occupied[device.devEUI] = state
            payload = VendorEncoders.boschParkingStatus(occupied: state)
            values = [DecodedValue(metric: .occupied, value: state ? 1 : 0)]
        case .draginoLHT65:
            let night = hour >= 22 || hour < 7
            let temperature = 1700 + jitter(0...500)                 // 0.01 °C
            let humidity = (night ? 700 : 550) + jitter(0...200)     // 0.1 %
            let probe = 1500 + jitter(0...400)
            let battery = 3000 + jitter(0...100)
            payload = VendorEncoders.draginoLHT65(batteryMillivolts: battery, temperatureCentiC: temperature, humidityDeciPercent: humidity, probeCentiC: probe)
            values = [
                DecodedValue(metric: .batteryVoltage, value: Int64(battery)),
                DecodedValue(metric: .temperature, value: Int64(temperature)),
                DecodedValue(metric: .relativeHumidity, value: Int64(humidity * 10)),
                DecodedValue(metric: .temperature, channel: 1, value: Int64(probe)),
            ]
        case .cayenne:
            let temperature = (100 + jitter(0...150)) * 10           // 0.1 °C steps
            let humidity = (60 + jitter(0...80)) * 50                // 0.5 % steps
            let pressure = (10_000 + jitter(0...300)) * 10           // 0.1 hPa steps
            payload = VendorEncoders.cayenne(temperatureCentiC: temperature, humidityCentiPercent: humidity, pressureCentiHectopascal: pressure)
            values = [
                DecodedValue(metric: .temperature, channel: 1, value: Int64(temperature)),
                DecodedValue(metric: .relativeHumidity, channel: 2, value: Int64(humidity)),
                DecodedValue(metric: .pressure, channel: 3, value: Int64(pressure)),
            ]
        }
        return SimulatedFrame(device: device, fCnt: fCnt, fPort: device.model.fPort, payload: payload, time: time, values: values)
    }

    /// A random UUID (version 4 layout) from the seeded generator.
    public mutating func uuid() -> String {
        let hex = Array("0123456789abcdef")
        var text = ""
        for index in 0..<32 {
            if [8, 12, 16, 20].contains(index) { text.append("-") }
            var nibble = Int(generator.next() & 0xF)
            if index == 12 { nibble = 4 }
            if index == 16 { nibble = 8 | (nibble & 3) }
            text.append(hex[nibble])
        }
        return text
    }
}
