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
