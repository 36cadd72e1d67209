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

/// A reading the device gets wrong on purpose (a fault the scenario asks for).
public enum SignalAnomaly: String, Sendable, CaseIterable {
    /// The vendor's "no reading" code where the model has one (LHT65 probe
    /// 0x7FFF, LDDS75 distance under 20 mm, Milesight humidity 0xFF): the
    /// gateway keeps the frame, stores no reading for that value and counts it.
    case sentinel
    /// A value the sensor can encode but the world cannot produce (CO2 of
    /// 52,000 ppm, a distance of 25 m, humidity over 100 %): the gateway
    /// quarantines the frame as implausible.
    case outOfRange = "out_of_range"

    /// Whether the model has a way to show it (parking sensors send one bit).
    public func applies(to model: SimulatedDevice.Model) -> Bool {
        switch (self, model) {
        case (.sentinel, .draginoLHT65), (.sentinel, .draginoLDDS75), (.sentinel, .milesightEM300TH): return true
        case (.sentinel, _): return false
        case (.outOfRange, .boschTPS110), (.outOfRange, .nwaveNPS405): return false
        case (.outOfRange, _): return true
        }
    }
}

/// Signals that behave like a city, per kind, all in integer counts:
/// - air quality: temperature follows the sun (warmest mid-afternoon), CO2
///   and motion peak in the morning and evening rush hours;
/// - waste bins fill at their own rate (faster by day) and are emptied on
///   their zone's two collection days a week, early in the morning; a full
///   bin stays full until the truck comes;
/// - parking turns over with the hour: each spot tends to the hour's
///   occupancy (low at night, high in business hours);
/// - damp homes: humidity rises at night and after cooking at breakfast,
///   lunch and dinner; heating keeps days warmer;
/// - batteries drain with every frame sent and are full again after a swap
///   (the frame counter restarts with the new battery).
/// Times are UTC. Seeded: the same seed and order give the same frames;
/// each device's traits (fill rate, baseline humidity, ...) come from the
/// seed and its id, so they do not depend on the order of the fleet.
public struct SignalModel: Sendable {
    var generator: SeededGenerator
    let seed: UInt64
    var state: [DeviceID: DeviceState] = [:]

    struct DeviceState: Sendable {
        var lastTime: EpochMillis?
        var distance = 0            // bins: mm from sensor to the rubbish
        var occupied = false        // parking
        var stateSince: EpochMillis = 0
        var previousStateMinutes = 0
    }

    /// What a device is like, fixed for the run.
    struct Traits {
        var level: Int          // 0...999: baseline offset of the device's main signal
        var rate: Int           // 0...999: how fast it changes (bin fill rate)
        var minute: Int         // 0...119: its minute in the collection round

        init(seed: UInt64, id: DeviceID) {
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in id.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
            var generator = SeededGenerator(seed: seed ^ hash)
            level = Int(generator.next() % 1000)
            rate = Int(generator.next() % 1000)
            minute = Int(generator.next() % 120)
        }
    }

    public init(seed: UInt64) {
        self.seed = seed
        generator = SeededGenerator(seed: seed)
    }

    mutating func jitter(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
    mutating func chance(perMillion: Int) -> Bool { Int.random(in: 0..<1_000_000, using: &generator) < perMillion }

    static let minuteMillis: EpochMillis = 60_000
    static let dayMillis: EpochMillis = 86_400_000

    /// Minute of the day (0...1439), UTC.
    static func minuteOfDay(_ time: EpochMillis) -> Int { Int(((time % dayMillis) + dayMillis) % dayMillis / minuteMillis) }
    /// Hour of day (0–23) in UTC of a time.
    static func hour(_ time: EpochMillis) -> Int { minuteOfDay(time) / 60 }

    /// -1000...1000: the sun's warmth, highest at 15:00 and lowest at 03:00.
    static func diurnal(_ minute: Int) -> Int {
        let fromPeak = abs(minute - 900)
        let distance = min(fromPeak, 1440 - fromPeak)   // 0...720 minutes from 15:00
        return 1000 - distance * 2000 / 720
    }

    /// 0...1000: traffic, peaking at 08:00 and 18:00, an hour and a half either side.
    static func rush(_ minute: Int) -> Int {
        max(0, 1000 - abs(minute - 480) * 1000 / 90, 1000 - abs(minute - 1080) * 1000 / 90)
    }

    /// 0...1000: daylight, 07:00 to 20:00, brightest at 13:30.
    static func daylight(_ minute: Int) -> Int { max(0, 1000 - abs(minute - 810) * 1000 / 390) }

    /// Permille of spots taken, by hour: a shopping street's day.
    static let parkingOccupancy = [350, 320, 300, 300, 300, 350, 450, 650, 850, 900, 920, 930,
                                   930, 920, 900, 900, 880, 850, 800, 700, 600, 500, 450, 400]

    /// Extra humidity (0.1 %) from cooking: breakfast, lunch, dinner, fading over an hour.
    static func cooking(_ minute: Int) -> Int {
        var extra = 0
        for (start, length) in [(7 * 60, 40), (12 * 60 + 30, 60), (19 * 60, 90)] {
            let since = minute - start
            if since >= 0 && since < length { extra = max(extra, 150) }
            else if since >= length && since < length + 60 { extra = max(extra, 150 - (since - length) * 150 / 60) }
        }
        return extra
    }

    /// Whether the zone's truck came between two times: two collection days a
    /// week per zone (chosen by the zone's name), at 06:00 plus the bin's
    /// place in the round.
    static func collected(zone: String, minute: Int, after last: EpochMillis, upTo now: EpochMillis) -> Bool {
        guard now > last else { return false }
        if now - last > 14 * dayMillis { return true }
        var hash = 0
        for byte in zone.utf8 { hash = (hash &* 31 &+ Int(byte)) & 0xFFFF }
        let first = hash % 7, second = (hash % 7 + 3) % 7     // e.g. Monday and Thursday
        var day = last / dayMillis
        while day <= now / dayMillis {
            let weekday = Int((day + 4) % 7)                 // 1970-01-01 was a Thursday; 0 = Sunday
            if weekday == first || weekday == second {
                let truck = day * dayMillis + EpochMillis(6 * 60 + minute) * minuteMillis
                if truck > last && truck <= now { return true }
            }
            day += 1
        }
        return false
    }

    /// A level that falls by one step per `framesPerStep` frames since the
    /// last battery swap (the frame counter restarts with the new battery).
    static func drained(full: Int, empty: Int, fCnt: UInt32, framesPerStep: Int) -> Int {
        max(empty, full - Int(fCnt) / framesPerStep)
    }

    /// Elapsed minutes since the device's last frame (its interval the first time).
    mutating func elapsedMinutes(_ id: DeviceID, _ time: EpochMillis) -> Int {
        let last = state[id]?.lastTime ?? (time - 15 * Self.minuteMillis)
        return Int(max(0, min(time - last, 30 * Self.dayMillis)) / Self.minuteMillis)
    }

    public mutating func frame(for device: SimulatedDevice, fCnt: UInt32, time: EpochMillis, anomaly: SignalAnomaly? = nil) -> SimulatedFrame {
        let minute = Self.minuteOfDay(time)
        let traits = Traits(seed: seed, id: device.devEUI)
        let elapsed = elapsedMinutes(device.devEUI, time)
        var memory = state[device.devEUI] ?? DeviceState()
        defer {
            memory.lastTime = time
            state[device.devEUI] = memory
        }
        var values: [DecodedValue] = []
        let payload: [UInt8]
        let sentinel = anomaly == .sentinel, outOfRange = anomaly == .outOfRange

        // A bin's fill: rate 8...60 mm an hour, faster by day; emptied by the truck.
        func binDistance() -> Int {
            if memory.distance == 0 { memory.distance = 400 + traits.level * 14 / 10 }  // a first report finds it part full
            if let last = memory.lastTime, Self.collected(zone: device.zone, minute: traits.minute, after: last, upTo: time) {
                memory.distance = 1800 - jitter(0...120)
            } else {
                let perHour = 8 + traits.rate * 52 / 1000
                let factor = (7 * 60...21 * 60).contains(minute) ? 15 : 4    // tenths: people bin things by day
                memory.distance -= perHour * factor * elapsed / 600 + jitter(0...4)
            }
            memory.distance = min(1850, max(150, memory.distance))           // a full bin stays full
            return memory.distance
        }

        switch device.model {
        case .elsysERSCO2:
            let rush = Self.rush(minute)
            let temperature = (150 + Self.diurnal(minute) * 60 / 1000 + traits.level / 100 + jitter(-5...5)) * 10  // centi °C in 0.1 steps
            let humidity = 55 - Self.diurnal(minute) * 15 / 1000 + jitter(-3...3)
            let co2 = outOfRange ? 52_000 : 420 + traits.level / 10 + rush * 350 / 1000 + jitter(0...60)
            let light = Self.daylight(minute) * 12 / 10 + jitter(0...20)
            let motion = min(255, rush * 12 / 1000 + jitter(0...3))
            let battery = Self.drained(full: 3650, empty: 2900, fCnt: fCnt, framesPerStep: 200) - traits.level / 50
            payload = VendorEncoders.elsys(temperatureCentiC: temperature, humidityPercent: humidity, light: light, motion: motion, co2: co2, batteryMillivolts: battery)
            values = [
                DecodedValue(metric: .temperature, value: Int64(temperature)),
                DecodedValue(metric: .relativeHumidity, value: Int64(humidity * 100)),
                DecodedValue(metric: .light, value: Int64(light)),
                DecodedValue(metric: .motion, value: Int64(motion)),
                DecodedValue(metric: .co2, value: Int64(co2)),
                DecodedValue(metric: .batteryVoltage, value: Int64(battery)),
            ]
        case .milesightEM310, .milesightEM400UDL:
            let distance = outOfRange ? 25_000 : binDistance()
            let battery = max(1, Self.drained(full: 100, empty: 1, fCnt: fCnt, framesPerStep: 300) - traits.level / 250)
            if device.model == .milesightEM310 {
                payload = VendorEncoders.milesightUltrasonic(batteryPercent: battery, distanceMillimetres: distance)
                values = [DecodedValue(metric: .batteryLevel, value: Int64(battery)), DecodedValue(metric: .distance, value: Int64(distance))]
            } else {
                // EM400-UDL: battery, enclosure temperature, distance, position (codecs.md §2).
                let temperature = 120 + Self.diurnal(minute) * 80 / 1000 + jitter(-3...3)   // 0.1 °C
                payload = VendorEncoders.milesight([.battery(percent: battery), .temperature(deciC: temperature),
                                                    .distanceEM400(millimetres: distance), .positionEM400(tilted: false)])
                values = [DecodedValue(metric: .batteryLevel, value: Int64(battery)), DecodedValue(metric: .temperature, value: Int64(temperature * 10)),
                          DecodedValue(metric: .distance, value: Int64(distance))]
            }
        case .draginoLDDS75:
            let distance = sentinel ? jitter(0...19) : outOfRange ? 25_000 : binDistance()
            let battery = Self.drained(full: 3600, empty: 2800, fCnt: fCnt, framesPerStep: 200) - traits.level / 50
            let probe = 100 + Self.diurnal(minute) * 80 / 1000 + jitter(-3...3)               // 0.1 °C, never 0 (0 = no probe)
            payload = VendorEncoders.draginoLDDS75(batteryMillivolts: battery, distanceMillimetres: distance, probeDeciC: probe == 0 ? 1 : probe)
            values = [DecodedValue(metric: .batteryVoltage, value: Int64(battery)),
                      DecodedValue(metric: .temperature, channel: 1, value: Int64((probe == 0 ? 1 : probe) * 10))]
            if !sentinel { values.insert(DecodedValue(metric: .distance, value: Int64(distance)), at: 1) }
        case .boschTPS110, .nwaveNPS405:
            // Turnover: a taken spot frees with (1 − p)·k, a free one fills with p·k,
            // p the hour's occupancy and k one chance in two per hour elapsed.
            let target = Self.parkingOccupancy[minute / 60]
            let k = min(1000, elapsed * 1000 / 120)
            if memory.lastTime == nil {
                memory.occupied = jitter(0...999) < target
                memory.stateSince = time - EpochMillis(jitter(0...120)) * Self.minuteMillis
            } else if chance(perMillion: (memory.occupied ? 1000 - target : target) * k) {
                memory.previousStateMinutes = Int((time - memory.stateSince) / Self.minuteMillis)
                memory.occupied.toggle()
                memory.stateSince = time
            }
            payload = device.model == .boschTPS110
                ? VendorEncoders.boschParkingStatus(occupied: memory.occupied)
                : VendorEncoders.nwaveParkingStatus(occupied: memory.occupied, previousStateMinutes: memory.previousStateMinutes)
            values = [DecodedValue(metric: .occupied, value: memory.occupied ? 1 : 0)]
        case .draginoLHT65, .milesightEM300TH:
            let night = minute >= 22 * 60 || minute < 7 * 60
            let baseline = 450 + traits.level * 25 / 100                                  // 45–70 %, the home's dampness
            var humidity = baseline + (night ? 80 : 0) + Self.cooking(minute) + jitter(-15...15)   // 0.1 %
            humidity = min(995, humidity)
            if outOfRange { humidity = 1050 }
            let temperature = (night ? 1750 : 2050) + traits.rate / 2 + jitter(-40...40)   // 0.01 °C, heated by day
            if device.model == .draginoLHT65 {
                let probe = temperature - 300 - traits.level / 2                           // the cold wall behind it
                let battery = Self.drained(full: 3100, empty: 2500, fCnt: fCnt, framesPerStep: 300)
                payload = VendorEncoders.draginoLHT65(batteryMillivolts: battery, temperatureCentiC: temperature, humidityDeciPercent: humidity,
                                                      probeCentiC: sentinel ? nil : probe)
                values = [
                    DecodedValue(metric: .batteryVoltage, value: Int64(battery)),
                    DecodedValue(metric: .temperature, value: Int64(temperature)),
                    DecodedValue(metric: .relativeHumidity, value: Int64(humidity * 10)),
                ]
                if !sentinel { values.append(DecodedValue(metric: .temperature, channel: 1, value: Int64(probe))) }
            } else {
                // EM300-TH: 0.1 °C and 0.5 % steps; humidity 0xFF is the vendor's collection error.
                let deciC = temperature / 10, halfPercent = humidity / 5
                let battery = Self.drained(full: 100, empty: 1, fCnt: fCnt, framesPerStep: 300)
                payload = VendorEncoders.milesight([.battery(percent: battery), .temperature(deciC: deciC), .humidity(halfPercent: sentinel ? 0xFF : halfPercent)])
                values = [DecodedValue(metric: .batteryLevel, value: Int64(battery)), DecodedValue(metric: .temperature, value: Int64(deciC * 10))]
                if !sentinel { values.append(DecodedValue(metric: .relativeHumidity, value: Int64(halfPercent * 50))) }
            }
        case .cayenne:
            let temperature = (120 + Self.diurnal(minute) * 80 / 1000 + jitter(-5...5)) * 10     // 0.1 °C steps
            let humidity = outOfRange ? 105 * 100 : (70 * 2 - Self.diurnal(minute) * 40 / 1000 + jitter(-4...4)) * 50   // 0.5 % steps
            let dayOfYear = Int(time / Self.dayMillis % 365)
            let pressure = (10_130 + (dayOfYear * 37 % 200) - 100 + jitter(-5...5)) * 10        // 0.1 hPa steps, weather by the day
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
