import Codecs
import Readings
import SimulatorCore
import Testing

/// The simulated world behaves like a city: these check the shapes the
/// scenario promises, over many devices and simulated days.
@Suite struct SignalTests {
    static let monday: EpochMillis = 1_795_392_000_000   // 2026-11-23T00:00:00Z
    static let hour: EpochMillis = 3_600_000

    static func fleet(_ model: SimulatedDevice.Model, _ count: Int, zone: String = "centro") -> [SimulatedDevice] {
        let prefix = "a84041" + Hex.digits(UInt64(SimulatedDevice.Model.allCases.firstIndex(of: model)!), count: 2)
        return (0..<count).map { SimulatedDevice.generated(serial: $0, model: model, zone: zone, euiPrefix: prefix) }
    }

    /// Mean of one metric (channel nil) over the devices' frames at hours of day.
    static func mean(_ model: SimulatedDevice.Model, _ metric: Metric, hours: Set<Int>, days: Int = 7) -> Int64 {
        var signals = SignalModel(seed: 11)
        var sum: Int64 = 0, count: Int64 = 0
        for step in 0..<(days * 24) {
            let time = monday + EpochMillis(step) * hour
            for device in fleet(model, 40) {
                let frame = signals.frame(for: device, fCnt: UInt32(step), time: time)
                guard hours.contains(step % 24) else { continue }
                for value in frame.values where value.metric == metric && value.channel == nil {
                    sum += value.value
                    count += 1
                }
            }
        }
        return count > 0 ? sum / count : 0
    }

    @Test func airQualityFollowsTheSunAndTheRushHours() {
        #expect(Self.mean(.elsysERSCO2, .co2, hours: [8, 18]) > Self.mean(.elsysERSCO2, .co2, hours: [2, 3]) + 200)
        #expect(Self.mean(.elsysERSCO2, .temperature, hours: [15]) > Self.mean(.elsysERSCO2, .temperature, hours: [3]) + 800)
        #expect(Self.mean(.elsysERSCO2, .light, hours: [13]) > 10 * max(1, Self.mean(.elsysERSCO2, .light, hours: [1])))
    }

    @Test func parkingTurnsOverWithTheHour() {
        var signals = SignalModel(seed: 5)
        var taken = [Int](repeating: 0, count: 24), changes = 0
        var last: [String: Int64] = [:]
        for step in 0..<(14 * 24) {
            for device in Self.fleet(.boschTPS110, 30) + Self.fleet(.nwaveNPS405, 30) {
                let value = signals.frame(for: device, fCnt: UInt32(step), time: Self.monday + EpochMillis(step) * Self.hour).values[0].value
                taken[step % 24] += Int(value)
                if let before = last[device.devEUI], before != value { changes += 1 }
                last[device.devEUI] = value
            }
        }
        #expect(taken[11] > taken[3] * 2, "\(taken)")
        #expect(changes > 14 * 24 * 60 / 10, "spots turn over: \(changes) changes")
    }

    @Test func binsFillAndAreEmptiedOnCollectionDays() {
        var signals = SignalModel(seed: 3)
        let bins = Self.fleet(.milesightEM310, 20)
        var emptied = [Int](repeating: 0, count: bins.count)
        var previous = [Int64](repeating: 0, count: bins.count)
        var emptiedOn: Set<Int> = []
        for step in 0..<(28 * 24) {
            let time = Self.monday + EpochMillis(step) * Self.hour
            for (index, bin) in bins.enumerated() {
                let distance = signals.frame(for: bin, fCnt: UInt32(step), time: time).values[1].value
                #expect((150...1850).contains(distance))
                if step > 0 && distance > previous[index] + 300 {
                    emptied[index] += 1
                    emptiedOn.insert(step / 24 % 7)
                    #expect((6...8).contains(step % 24), "the truck comes in the morning")
                }
                previous[index] = distance
            }
        }
        // Two collection days a week for the zone: eight in four weeks, never more.
        #expect(emptied.allSatisfy { (6...8).contains($0) }, "\(emptied)")
        #expect(emptiedOn.count == 2, "\(emptiedOn)")
    }

    @Test func dampHomesAreDamperAtNightAndAfterCooking() {
        let afternoon = Self.mean(.draginoLHT65, .relativeHumidity, hours: [15, 16])
        #expect(Self.mean(.draginoLHT65, .relativeHumidity, hours: [3, 4]) > afternoon + 500)
        #expect(Self.mean(.milesightEM300TH, .relativeHumidity, hours: [20]) > Self.mean(.milesightEM300TH, .relativeHumidity, hours: [15, 16]) + 800)
    }

    @Test func batteriesDrainAndAreFullAfterASwap() {
        var signals = SignalModel(seed: 1)
        let device = DemoDistrict.devices[0]
        func battery(_ fCnt: UInt32) -> Int64 {
            signals.frame(for: device, fCnt: fCnt, time: Self.monday).values.first { $0.metric == .batteryVoltage }!.value
        }
        let fresh = battery(0), worn = battery(60_000), swapped = battery(0)
        #expect(fresh > worn && worn >= 2900 && swapped == fresh)
    }

    /// Sentinel and out-of-range faults are what the gateway's decoders see
    /// as such: a sentinel yields no reading for that value; an out-of-range
    /// value falls outside the metric's plausible range.
    @Test(arguments: SimulatedDevice.Model.allCases)
    func anomaliesAreWhatTheGatewaySees(model: SimulatedDevice.Model) throws {
        var signals = SignalModel(seed: 2)
        let device = SimulatedDevice.generated(serial: 1, model: model, zone: "z", euiPrefix: "a8404105")
        let codec = try #require(CodecCatalog.builtIn.codec(model.rawValue))
        if SignalAnomaly.sentinel.applies(to: model) {
            let frame = signals.frame(for: device, fCnt: 3, time: Self.monday, anomaly: .sentinel)
            let decoded = try codec.decode(frame.payload, fPort: frame.fPort)
            #expect(decoded.sentinels > 0, "\(model)")
            #expect(decoded.values.map(\.value).sorted() == frame.values.map(\.value).sorted())
        }
        if SignalAnomaly.outOfRange.applies(to: model) {
            let frame = signals.frame(for: device, fCnt: 3, time: Self.monday, anomaly: .outOfRange)
            let decoded = try codec.decode(frame.payload, fPort: frame.fPort)
            #expect(decoded.values.contains { !$0.metric.plausible.contains($0.value) }, "\(model)")
        }
    }
}

@Suite struct ScheduleTests {
    @Test func withoutJitterTheFleetReportsInRoundsAndWithJitterItSpreads() {
        var steady = FleetSchedule(intervals: [900_000, 900_000, 900_000], start: 0, jitterMillis: 0, seed: 1)
        #expect((0..<6).map { _ in steady.next() }.map { "\($0.slot)@\($0.time)" } == ["0@0", "1@0", "2@0", "0@900000", "1@900000", "2@900000"])
        var spread = FleetSchedule(intervals: [Int64](repeating: 900_000, count: 100), start: 0, jitterMillis: 30_000, seed: 1)
        var times: [EpochMillis] = []
        for _ in 0..<1000 { times.append(spread.next().time) }
        #expect(times == times.sorted(), "in time order")
        #expect(Set(times.prefix(100)).count > 90, "first reports spread over the interval")
        // Per-device intervals: a 5-minute parking sensor reports three times per 15-minute bin.
        var mixed = FleetSchedule(intervals: [300_000, 900_000], start: 0, jitterMillis: 0, seed: 1)
        let slots = (0..<8).map { _ in mixed.next().slot }
        #expect(slots.filter { $0 == 0 }.count == 6 && slots.filter { $0 == 1 }.count == 2, "\(slots)")
    }

    @Test func outOfOrderFramesArriveAfterTheNextOneAndBurstsAreDistinctFrames() throws {
        let device = DemoDistrict.devices[0]
        var traffic = FleetTraffic(devices: [device], seed: 4, simulatedStart: SignalTests.monday, stepMillis: 900_000,
                                   faults: FaultPlan(outOfOrder: 0.3, burst: 0.1, burstFrames: 4))
        var counters: [UInt32] = []
        var frames = 0
        func read(_ messages: [FleetTraffic.Message]) throws {
            for message in messages {
                guard case let .uplink(uplink) = try ChirpStackEnvelope().parse(topic: message.topic, message: message.payload) else { continue }
                counters.append(uplink.fCnt!)
            }
        }
        for _ in 0..<200 {
            let step = traffic.next()
            frames += step.frames
            try read(step.messages)
        }
        try read(traffic.flush())
        #expect(counters.count == frames, "every frame made is published once")
        #expect(Set(counters).count == frames, "each a distinct frame counter")
        #expect(zip(counters, counters.dropFirst()).contains { $0 > $1 }, "some arrive after a later one")
        #expect((traffic.injected["burst_frames"] ?? 0) == 3 * (traffic.injected["burst"] ?? 0) && (traffic.injected["burst"] ?? 0) > 5)
    }
}
