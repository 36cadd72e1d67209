import Foundation
import Histogram
import Readings
import SimulatorCore
import Testing

/// The load report's pieces, without a broker: the latency recorder, the
/// distribution it plots, the per-second rates, the JSON and the page.
@Suite struct LoadReportTests {
    @Test func anAcknowledgementBeforeThePublishCallReturnedStillCounts() {
        let latency = PublishLatency()
        let start = ContinuousClock.now
        latency.published(1, startedAt: start)
        latency.acknowledged(1, at: start + .microseconds(300))
        // libmosquitto reported message 2 before its publish call returned the id.
        latency.acknowledged(2, at: start + .microseconds(900))
        latency.published(2, startedAt: start + .microseconds(100))
        // Message 3 is never acknowledged: no sample, and no trap.
        latency.published(3, startedAt: start)
        let histogram = latency.histogram
        #expect(histogram.totalCount == 2)
        #expect(histogram.valuesAreEquivalent(histogram.min, 300) && histogram.valuesAreEquivalent(histogram.max, 800), "\(histogram.min) \(histogram.max)")
    }

    @Test func theDistributionHasRoundBoundsAndKeepsEverySample() {
        var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        for _ in 0..<3 { _ = histogram.record(15) }
        for _ in 0..<5 { _ = histogram.record(150) }
        for _ in 0..<2 { _ = histogram.record(3_000) }
        let summary = LatencySummary(histogram)
        #expect(summary.count == 10)
        #expect(summary.buckets.map(\.upToMicros) == [20, 50, 100, 200, 500, 1_000, 2_000, 5_000])
        #expect(summary.buckets.map(\.count) == [3, 0, 0, 5, 0, 0, 0, 2])
        #expect(summary.micros(at: 50) == 150 && summary.micros(at: 100).map { histogram.valuesAreEquivalent($0, 3_000) } == true)
        #expect(summary.percentiles.map { LatencySummary.key($0.percentile) } == ["p50", "p90", "p99", "p999", "max"])
        #expect(LatencySummary(Histogram<UInt64>(highestTrackableValue: 1000)).buckets.isEmpty)
    }

    static func report(loss: Int = 0, scenario: String? = nil) -> LoadReport {
        var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        for value: UInt64 in [400, 500, 600, 700, 5_000] { _ = histogram.record(value) }
        var run = GatewaySnapshot.delta(GatewaySnapshot.parse("""
            citygate_uplinks_received_total 3000
            citygate_uplinks_committed_total 3000
            citygate_uplink_ingest_latency_seconds_bucket{le="0.001"} 2000
            citygate_uplink_ingest_latency_seconds_bucket{le="0.005"} 2900
            citygate_uplink_ingest_latency_seconds_bucket{le="0.025"} 3000
            citygate_uplink_ingest_latency_seconds_bucket{le="60.0"} 3000
            citygate_uplink_ingest_latency_seconds_bucket{le="+Inf"} 3000
            process_cpu_seconds_total 1.5
            process_resident_memory_bytes 31457280
            """), GatewaySnapshot.parse("process_cpu_seconds_total 1.2\n"))
        run.pending = 0
        let samples = [RateSample(seconds: 0, sent: 0, acknowledged: 0, committed: 0),
                       RateSample(seconds: 1, sent: 1500, acknowledged: 1490, committed: 1400),
                       RateSample(seconds: 2, sent: 3000, acknowledged: 3000, committed: 2900),
                       RateSample(seconds: 2.5, sent: 3000, acknowledged: 3000, committed: 3000)]
        return LoadReport(
            setup: .init(startedAt: 1_796_000_000_000, broker: "mqtt://127.0.0.1:1883", qos: 1, devices: 20, rate: 1500, maxInFlight: 200,
                         scenario: scenario, simulatorVersion: "0.2.0"),
            publish: Publisher.Report(frames: 3000, sent: 3000, acknowledged: 3000, errors: 0, seconds: 2.0),
            faults: [("corrupt", 7)], timeline: samples, puback: LatencySummary(histogram),
            gateway: .init(run: run, loss: loss, stored: 3000 - loss))
    }

    @Test func ratesArePerSecondBetweenSamplesAndAShortLastSpanIsScaled() {
        let rates = Self.report().rates
        #expect(rates.map(\.published) == [1500, 1500, 0])
        #expect(rates.map(\.acknowledged) == [1490, 1510, 0])
        #expect(rates.map(\.committed) == [1400, 1500, 200], "half a second with 100 commits is 200/s")
    }

    @Test func theSummaryLinesKeepTheirWordingAndAddThePUBACKLine() {
        let lines = Self.report().lines
        #expect(lines[0] == "sent 3000, acknowledged 3000, errors 0, 1500.0 msg/s over 2.00 s (qos 1)")
        #expect(lines[1] == "gateway: received 3000, stored 3000, duplicates 0, quarantined 0; loss 0")
        #expect(lines[2].hasPrefix("ingest latency: p50 0.8 ms, p90 "), "2000 of 3000 under 1 ms: the median interpolates to 0.75 ms")
        #expect(lines[3].hasPrefix("publish→PUBACK latency (HdrHistogram, 5 messages): p50 0.600 ms, p90 ") && lines[3].hasSuffix("max 5.000 ms"), "\(lines[3])")
    }

    /// Every figure the page shows with a data-key is in report.json under
    /// that dotted path with the same value, and the figures that matter are shown.
    @Test func thePageShowsTheJSONFiguresAndEscapesWhatItQuotes() throws {
        let report = Self.report(loss: 2, scenario: "<script>alert(1)</script>.toml")
        let html = LoadReportPage.html(report)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.json(detailed: true).serialized().utf8)) as? [String: Any])
        let shown = LoadReportPage.figures(in: html)
        for key in ["sent", "acknowledged", "loss", "rate_per_s", "gateway.stored", "gateway.cpu_us_per_uplink", "gateway.resident_mib",
                    "puback_latency_ms.p50", "puback_latency_ms.p999", "puback_latency_ms.max", "latency_ms.p99", "faults.corrupt"] {
            #expect(shown[key] != nil, "\(key) is not on the page")
        }
        for (key, text) in shown {
            let value = try #require(Self.value(at: key, in: json), "\(key) is on the page but not in report.json")
            #expect(Double(text) == value, "\(key): page \(text), json \(value)")
        }
        #expect(Self.report().gateway?.cpuMicrosPerUplink.map { LoadReport.fixed($0, 1) } == "100.0", "0.3 s CPU for 3000 uplinks")
        #expect(!html.contains("<script") && html.contains("&lt;script&gt;"))
        #expect(html.contains("id=\"verdict\"") && html.contains("lost 2 acknowledged uplinks"))
        #expect(html.components(separatedBy: "<polyline").count - 1 == 3, "published, acknowledged, gateway committed")
        let bars = html.components(separatedBy: "data-count=").count - 1
        #expect(bars == report.puback.buckets.count + report.ingestBuckets.count)
        #expect(report.ingestBuckets.map(\.upToMillis) == [1, 5, 25], "trailing empty buckets are not plotted")
    }

    static func value(at path: String, in json: [String: Any]) -> Double? {
        var current: Any? = json
        for step in path.split(separator: ".") { current = (current as? [String: Any])?[String(step)] }
        return (current as? NSNumber)?.doubleValue
    }
}
