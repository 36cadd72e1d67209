import Aggregation
import Readings
import Testing

@Suite struct WindowTests {
    @Test func windowsAlignToTheClock() {
        let t = RFC3339.parseMillis("2026-11-20T10:07:31Z")!
        let window = Window.containing(t, length: 15 * 60_000)
        #expect(RFC3339.format(window.start) == "2026-11-20T10:00:00Z")
        #expect(RFC3339.format(window.end) == "2026-11-20T10:15:00Z")
        #expect(Window.containing(-1, length: 1000).start == -1000)
        #expect(window.isoDuration == "PT15M")
        #expect(Window.isoDuration(10_000) == "PT10S")
        #expect(Window.isoDuration(3_600_000) == "PT1H")
    }

    /// At the ends of Int64 a window saturates instead of trapping (a time
    /// comes from a device; the device-time check keeps such times out first).
    @Test func theEndsOfInt64SaturateRatherThanTrap() {
        let low = Window.containing(.min, length: 7)
        #expect(low.start == .min && low.end == .min + 7)
        let high = Window.containing(.max, length: 7)
        #expect(high.start == .max - .max % 7 && high.end == .max)
        #expect(Window.containing(.min + 1, length: 3_600_000).start == .min)
        for time: Int64 in [0, 1, 3_599_999, 3_600_000, -1, -3_600_000, -3_600_001] {
            let window = Window.containing(time, length: 3_600_000)
            #expect(window.start % 3_600_000 == 0 && window.start <= time && time < window.end, "\(time)")
        }
    }

    @Test func statisticsAreExact() throws {
        let stats = try #require(WindowStatistics.of([(1, 2135), (2, 2140), (3, 2100)]))
        #expect(stats.count == 3 && stats.min == 2100 && stats.max == 2140 && stats.last == 2100)
        #expect(stats.mean == 2125)  // 6375 / 3
        // Half away from zero: (1 + 2) / 2 = 1.5 → 2, (−1 − 2) / 2 = −1.5 → −2.
        #expect(WindowStatistics.of([(1, 1), (2, 2)])?.mean == 2)
        #expect(WindowStatistics.of([(1, -1), (2, -2)])?.mean == -2)
        #expect(WindowStatistics.of([]) == nil)
        // A sum beyond Int64 does not overflow.
        #expect(WindowStatistics.of([(1, Int64.max), (2, Int64.max)])?.mean == Int64.max)
        // Last is by time, not by arrival.
        #expect(WindowStatistics.of([(5, 10), (3, 20)])?.last == 10)
    }

    @Test func windowKeysAreDeterministic() {
        let start = RFC3339.parseMillis("2026-11-20T10:00:00Z")!
        #expect(WindowKey.make(source: "a840410000000101", metric: "pm2_5", channel: nil, start: start, length: 900_000)
                == "a840410000000101/pm2_5/2026-11-20T10:00:00Z/PT15M")
        #expect(WindowKey.make(source: "d", metric: "temperature", channel: 1, start: start, length: 10_000)
                == "d/temperature.1/2026-11-20T10:00:00Z/PT10S")
    }
}

@Suite struct ZoneRollupTests {
    static func window(_ mean: Int64, last: Int64 = 0, at time: Int64 = 0) -> WindowStatistics {
        WindowStatistics(count: 4, min: mean, max: mean, mean: mean, last: last, lastTime: time)
    }

    @Test func parkingCountsOccupiedSpotsByTheirLastState() throws {
        // Spots occupied most of the window but free at its end count as free.
        let rollup = try #require(ZoneRollup.of(metric: .occupied, members: [
            Self.window(1, last: 1, at: 3), Self.window(1, last: 0, at: 1), Self.window(0, last: 1, at: 2)]))
        #expect(rollup.total == 2 && rollup.statistics.count == 3)
        #expect(rollup.statistics.mean == 1, "2/3 rounds to 1")
        #expect(rollup.statistics.last == 1, "the member value reported last")
    }

    @Test func measurementsRollUpTheMembersMeans() throws {
        let rollup = try #require(ZoneRollup.of(metric: .fillLevel, members: [Self.window(50_00), Self.window(75_01), Self.window(20_00)]))
        #expect(rollup.statistics.min == 20_00 && rollup.statistics.max == 75_01)
        #expect(rollup.statistics.mean == 48_34, "145.01 / 3 = 48.336… → 48.34")
        #expect(rollup.total == 145_01)
        #expect(ZoneRollup.of(metric: .fillLevel, members: []) == nil)
    }

    @Test func groupsAndPrivacy() {
        #expect(ZoneRollup.group(kind: .airQuality, zone: "centro", station: "escuelas-aguirre") == "station:escuelas-aguirre")
        #expect(ZoneRollup.group(kind: .airQuality, zone: "centro", station: nil) == "zone:centro")
        #expect(ZoneRollup.group(kind: .parking, zone: nil, station: nil) == nil)
        #expect(!ZoneRollup.isPublishable(kind: .damp, members: 4, minimumHomes: 5))
        #expect(ZoneRollup.isPublishable(kind: .damp, members: 5, minimumHomes: 5))
        #expect(ZoneRollup.isPublishable(kind: .parking, members: 1, minimumHomes: 5))
    }
}
