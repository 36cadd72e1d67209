import Foundation
import Readings

/// Everything one `citygate-sim load` run measured, in one value: the text
/// summary, `--json`, `report.json` and `report.html` are all made from it,
/// so they cannot disagree.
public struct LoadReport: Sendable {
    /// How the run was set up.
    public struct Setup: Sendable {
        public var startedAt: EpochMillis
        public var broker: String
        public var qos: Int
        public var devices: Int
        /// Uplinks per second asked for; 0: as fast as the in-flight cap allows.
        public var rate: Double
        public var maxInFlight: Int
        public var scenario: String?
        public var simulatorVersion: String

        public init(startedAt: EpochMillis, broker: String, qos: Int, devices: Int, rate: Double, maxInFlight: Int, scenario: String?, simulatorVersion: String) {
            self.startedAt = startedAt
            self.broker = broker
            self.qos = qos
            self.devices = devices
            self.rate = rate
            self.maxInFlight = maxInFlight
            self.scenario = scenario
            self.simulatorVersion = simulatorVersion
        }
    }

    /// What the gateway's `/metrics` said about the run (counters taken before and after).
    public struct GatewayFigures: Sendable {
        public var run: GatewaySnapshot
        /// Distinct uplinks acknowledged by the broker minus distinct uplinks the gateway stored.
        public var loss: Int
        public var stored: Int
        public var duplicates: Int { Int(run.redeliveries + run.frameDuplicates) }
        public var cpuMicrosPerUplink: Double? { stored > 0 && run.cpuSeconds > 0 ? run.cpuSeconds * 1e6 / Double(stored) : nil }

        public init(run: GatewaySnapshot, loss: Int, stored: Int) {
            self.run = run
            self.loss = loss
            self.stored = stored
        }
    }

    public var setup: Setup
    public var publish: Publisher.Report
    public var faults: [(name: String, count: Int)]
    public var timeline: [RateSample]
    public var puback: LatencySummary
    public var gateway: GatewayFigures?

    public init(setup: Setup, publish: Publisher.Report, faults: [(name: String, count: Int)], timeline: [RateSample],
                puback: LatencySummary, gateway: GatewayFigures?) {
        self.setup = setup
        self.publish = publish
        self.faults = faults
        self.timeline = timeline
        self.puback = puback
        self.gateway = gateway
    }

    /// Distinct uplinks the broker took: every frame (faulty ones too), less
    /// what was never acknowledged at QoS 1.
    public static func expectedUplinks(_ publish: Publisher.Report, qos: Int) -> Int {
        publish.frames - (qos == 1 ? max(0, publish.sent - publish.acknowledged) : 0)
    }

    /// The run failed: publish errors, or the gateway lost uplinks.
    public var failed: Bool { publish.errors > 0 || (gateway?.loss ?? 0) != 0 }

    // MARK: Per-second rates

    /// One point of the rate plot: rates over the second that ends at `seconds`.
    public struct RatePoint: Sendable, Equatable {
        public var seconds: Double
        public var published: Double
        public var acknowledged: Double
        public var committed: Double?
    }

    /// Rates between consecutive samples (a last partial second is scaled to
    /// a rate, not shown as a drop).
    public var rates: [RatePoint] {
        zip(timeline, timeline.dropFirst()).compactMap { earlier, later in
            let span = later.seconds - earlier.seconds
            guard span > 0.05 else { return nil }
            let committed = later.committed.flatMap { late in earlier.committed.map { (late - $0) / span } }
            return RatePoint(seconds: later.seconds, published: Double(later.sent - earlier.sent) / span,
                             acknowledged: Double(later.acknowledged - earlier.acknowledged) / span, committed: committed)
        }
    }

    // MARK: Numbers as they are printed

    /// Every figure is formatted once, here: the JSON number, the page's text
    /// and the summary line show the same digits (the browser test compares them).
    public static func fixed(_ value: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", value) }
    static func millis(micros: UInt64) -> String { fixed(Double(micros) / 1000, 3) }

    public var publishedRateText: String { Self.fixed(publish.ratePerSecond, 1) }

    /// PUBACK percentiles as (key, milliseconds text): p50, p90, p99, p999, max.
    public var pubackMillis: [(key: String, text: String)] {
        puback.percentiles.map { entry in
            (LatencySummary.key(entry.percentile), Self.millis(micros: entry.micros))
        }
    }

    /// The gateway's ingest latency, from its Prometheus histogram: (key, ms text or nil).
    public var ingestMillis: [(key: String, text: String?)] {
        guard let run = gateway?.run else { return [] }
        func text(_ value: Double?) -> String? { value.map { Self.fixed($0, 1) } }
        return [("p50", text(run.latencyQuantileMillis(0.5))), ("p90", text(run.latencyQuantileMillis(0.9))),
                ("p99", text(run.latencyQuantileMillis(0.99))), ("max", text(run.latencyMaxMillis))]
    }

    /// The gateway's ingest latency buckets for the run, not cumulative: (upper bound in ms, count).
    public var ingestBuckets: [(upToMillis: Double, count: Int)] {
        guard let buckets = gateway?.run.latencyBuckets else { return [] }
        var previous = 0.0
        var counts = buckets.map { bucket in
            defer { previous = bucket.count }
            return (upToMillis: bucket.le * 1000, count: Int(max(0, bucket.count - previous)))
        }
        // Up to the last bucket that holds a sample (the fixed buckets reach 60 s).
        while let last = counts.last, last.count == 0, counts.count > 1 { counts.removeLast() }
        return counts
    }

    // MARK: The summary lines and the JSON document

    /// The lines `load` prints (Benchmarks/load-vs-broker.sh reads the first
    /// three: keep their wording; add lines rather than reword).
    public var lines: [String] {
        var lines = ["sent \(publish.sent), acknowledged \(publish.acknowledged), errors \(publish.errors), \(publishedRateText) msg/s over \(String(format: "%.2f", publish.seconds)) s (qos \(setup.qos))"]
        if let gateway {
            let run = gateway.run
            lines.append("gateway: received \(Int(run.received)), stored \(gateway.stored), duplicates \(gateway.duplicates), quarantined \(Int(run.quarantined)); loss \(gateway.loss)")
            func text(_ value: String?) -> String { value.map { "\($0) ms" } ?? "-" }
            let ingest = Dictionary(uniqueKeysWithValues: ingestMillis.map { ($0.key, $0.text) })
            lines.append("ingest latency: p50 \(text(ingest["p50"] ?? nil)), p90 \(text(ingest["p90"] ?? nil)), p99 \(text(ingest["p99"] ?? nil)), max ≤ \(text(ingest["max"] ?? nil))")
        }
        if puback.count > 0 {
            let what = setup.qos == 1 ? "publish→PUBACK" : "publish→sent"
            lines.append("\(what) latency (HdrHistogram, \(puback.count) messages): " + pubackMillis.map { "\($0.key) \($0.text) ms" }.joined(separator: ", "))
        }
        return lines
    }

    /// The `--json` document; `detailed` adds what only the report files
    /// carry (set-up, per-second rates, latency distributions).
    public func json(detailed: Bool) -> JSONText {
        var fields: [(String, JSONText)] = [
            ("sent", .integer(Int64(publish.sent))), ("frames", .integer(Int64(publish.frames))), ("acknowledged", .integer(Int64(publish.acknowledged))),
            ("faults", .object(faults.map { ($0.name, JSONText.integer(Int64($0.count))) })),
            ("errors", .integer(Int64(publish.errors))), ("seconds", .number(Self.fixed(publish.seconds, 3))),
            ("rate_per_s", .number(publishedRateText)), ("qos", .integer(Int64(setup.qos))),
        ]
        if let gateway {
            let run = gateway.run
            fields.append(("loss", .integer(Int64(gateway.loss))))
            var figures: [(String, JSONText)] = [
                ("received", .integer(Int64(run.received))), ("stored", .integer(Int64(gateway.stored))),
                ("duplicates", .integer(Int64(gateway.duplicates))), ("quarantined", .integer(Int64(run.quarantined))),
            ]
            figures.append(("cpu_us_per_uplink", gateway.cpuMicrosPerUplink.map { .number(Self.fixed($0, 1)) } ?? .null))
            figures.append(("resident_mib", run.residentBytes > 0 ? .number(Self.fixed(run.residentBytes / 1_048_576, 1)) : .null))
            fields.append(("gateway", .object(figures)))
            fields.append(("latency_ms", .object(ingestMillis.map { ($0.key, $0.text.map { .number($0) } ?? .null) })))
        }
        fields.append(("puback_latency_ms", .object(pubackMillis.map { ($0.key, .number($0.text)) } + [("count", .integer(Int64(puback.count)))])))
        guard detailed else { return .object(fields) }
        fields.insert(("run", .object([
            ("started_at", .string(RFC3339.format(setup.startedAt))), ("broker", .string(setup.broker)),
            ("devices", .integer(Int64(setup.devices))), ("rate", .number(Self.fixed(setup.rate, 1))),
            ("max_in_flight", .integer(Int64(setup.maxInFlight))), ("scenario", setup.scenario.map { .string($0) } ?? .null),
            ("simulator_version", .string(setup.simulatorVersion)),
        ])), at: 0)
        fields.append(("puback_histogram", .array(puback.buckets.map {
            .object([("up_to_us", .integer(Int64($0.upToMicros))), ("count", .integer(Int64($0.count)))])
        })))
        if gateway != nil {
            fields.append(("ingest_histogram", .array(ingestBuckets.map {
                .object([("up_to_ms", $0.upToMillis.isFinite ? .number(Self.fixed($0.upToMillis, 1)) : .null), ("count", .integer(Int64($0.count)))])
            })))
        }
        fields.append(("per_second", .array(rates.map { point in
            .object([("t", .number(Self.fixed(point.seconds, 2))), ("published", .number(Self.fixed(point.published, 1))),
                     ("acknowledged", .number(Self.fixed(point.acknowledged, 1))),
                     ("committed", point.committed.map { .number(Self.fixed($0, 1)) } ?? .null)])
        })))
        return .object(fields)
    }
}
