import Histogram
import Synchronization

/// The simulator's own publish→PUBACK latency (QoS 1), or publish→written
/// to the socket (QoS 0, where libmosquitto reports a message once it is
/// sent), recorded in an HdrHistogram in microseconds: percentiles stay
/// within 0.1 % at any value, where fixed buckets only bound them.
///
/// libmosquitto may report a message before `mosquitto_publish` has returned
/// its id to the caller (a QoS 0 message written at once, or a fast broker),
/// so whichever of the two events comes second records the sample.
public final class PublishLatency: Sendable {
    /// Microseconds; one hour is the most it tracks (a broker that held a
    /// publish that long is reported at the ceiling, not dropped).
    static let highestTrackableMicros: UInt64 = 3_600_000_000

    struct State {
        var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: PublishLatency.highestTrackableMicros,
                                          numberOfSignificantValueDigits: .three)
        /// Message id → when its publish started, awaiting the acknowledgement.
        var started: [Int32: ContinuousClock.Instant] = [:]
        /// Message id → when it was acknowledged before its publish call returned.
        var acknowledgedEarly: [Int32: ContinuousClock.Instant] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Called after `mosquitto_publish` returned `mid`, with the instant just before the call.
    public func published(_ mid: Int32, startedAt start: ContinuousClock.Instant) {
        state.withLock { state in
            if let acknowledged = state.acknowledgedEarly.removeValue(forKey: mid) {
                Self.record(acknowledged - start, in: &state.histogram)
            } else {
                state.started[mid] = start
            }
        }
    }

    /// Called from libmosquitto's publish callback.
    public func acknowledged(_ mid: Int32, at instant: ContinuousClock.Instant = .now) {
        state.withLock { state in
            if let start = state.started.removeValue(forKey: mid) {
                Self.record(instant - start, in: &state.histogram)
            } else {
                state.acknowledgedEarly[mid] = instant
            }
        }
    }

    /// A copy of what was recorded so far.
    public var histogram: Histogram<UInt64> { state.withLock { $0.histogram } }

    static func record(_ elapsed: Duration, in histogram: inout Histogram<UInt64>) {
        let (seconds, attoseconds) = elapsed.components
        // A negative or absurd interval (clock trouble) is clamped, never trapped on.
        let micros = seconds < 0 ? 0 : seconds >= 3_600 ? highestTrackableMicros : UInt64(seconds) * 1_000_000 + UInt64(attoseconds / 1_000_000_000_000)
        _ = histogram.record(min(max(micros, 1), highestTrackableMicros))
    }
}

/// Percentiles and a plot-ready distribution of one latency histogram.
public struct LatencySummary: Sendable, Equatable {
    public struct Bucket: Sendable, Equatable {
        /// Upper bound of the bucket, microseconds, exclusive (lower bound: the previous bucket's).
        public var upToMicros: UInt64
        public var count: UInt64
    }

    public var count: UInt64
    /// (percentile, microseconds), for 50, 90, 99, 99.9 and 100 (the maximum).
    public var percentiles: [(percentile: Double, micros: UInt64)]
    public var meanMicros: Double
    /// Buckets with bounds 10, 20, 50, 100 µs, ..., from the first that holds a
    /// sample up to the one holding the maximum; a bucket holds [previous bound, bound).
    public var buckets: [Bucket]

    public static let reported: [Double] = [50, 90, 99, 99.9, 100]

    /// The name a percentile goes by in report.json: p50, p90, p99, p999
    /// (no dot: a key is one step of a dotted path), max.
    public static func key(_ percentile: Double) -> String {
        switch percentile {
        case 100...: "max"
        case 99.9: "p999"
        default: "p\(Int(percentile))"
        }
    }

    public static func == (a: LatencySummary, b: LatencySummary) -> Bool {
        a.count == b.count && a.meanMicros == b.meanMicros && a.buckets == b.buckets
            && a.percentiles.map(\.percentile) == b.percentiles.map(\.percentile) && a.percentiles.map(\.micros) == b.percentiles.map(\.micros)
    }

    public init(_ histogram: Histogram<UInt64>) {
        count = histogram.totalCount
        guard count > 0 else {
            percentiles = []
            meanMicros = 0
            buckets = []
            return
        }
        percentiles = Self.reported.map { ($0, $0 >= 100 ? histogram.maxRecorded : histogram.valueAtPercentile($0)) }
        meanMicros = histogram.mean
        // Bounds 10, 20, 50, 100, 200, 500 µs, 1 ms, ...: round numbers a
        // reader takes in at once, each bucket 2-2.5 times the one before.
        var buckets: [Bucket] = []
        var lower: UInt64 = 0
        var decade: UInt64 = 10
        while lower <= histogram.maxRecorded {
            for factor: UInt64 in [1, 2, 5] where lower <= histogram.maxRecorded {
                let upper = decade * factor
                buckets.append(Bucket(upToMicros: upper, count: histogram.count(within: lower...(upper - 1))))
                lower = upper
            }
            decade *= 10
        }
        // The plot starts at the first bucket that holds a sample.
        while let first = buckets.first, first.count == 0, buckets.count > 1 { buckets.removeFirst() }
        self.buckets = buckets
    }

    public func micros(at percentile: Double) -> UInt64? { percentiles.first { $0.percentile == percentile }?.micros }
}
