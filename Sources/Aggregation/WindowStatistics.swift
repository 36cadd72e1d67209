import Readings

/// Count, min, max, mean and last of one window of one series, in the
/// metric's canonical counts.
///
/// The mean is the exact sum (128-bit, so no window can overflow it) divided
/// by the count, rounded half away from zero: the rule in `FixedPoint`.
public struct WindowStatistics: Sendable, Equatable {
    public var count: Int64
    public var min: Int64
    public var max: Int64
    public var mean: Int64
    public var last: Int64
    public var lastTime: EpochMillis

    public init(count: Int64, min: Int64, max: Int64, mean: Int64, last: Int64, lastTime: EpochMillis) {
        self.count = count
        self.min = min
        self.max = max
        self.mean = mean
        self.last = last
        self.lastTime = lastTime
    }

    /// Folds readings given in time order (ties in arrival order). Nil for an
    /// empty window: no window is sent without readings.
    public static func of(_ values: [(time: EpochMillis, value: Int64)]) -> WindowStatistics? {
        guard let first = values.first else { return nil }
        var minimum = first.value, maximum = first.value
        var sum: Int128 = 0
        var last = first
        for item in values {
            minimum = Swift.min(minimum, item.value)
            maximum = Swift.max(maximum, item.value)
            sum += Int128(item.value)
            if item.time >= last.time { last = item }
        }
        let count = Int64(values.count)
        // |mean| ≤ max(|min|, |max|), so it always fits in Int64.
        let mean = Int64(FixedPoint.divideRounded(sum, by: Int128(count)) ?? 0)
        return WindowStatistics(count: count, min: minimum, max: maximum, mean: mean, last: last.value, lastTime: last.time)
    }
}

/// The deterministic id of an aggregate: source, metric (with channel),
/// window start and length. A re-send after a crash carries the same key, so
/// the hub updates instead of duplicating.
public enum WindowKey {
    public static func make(source: DeviceID, metric: String, channel: Int?, start: EpochMillis, length: Int64) -> String {
        let series = channel.map { "\(metric).\($0)" } ?? metric
        return "\(source)/\(series)/\(RFC3339.format(start))/\(Window.isoDuration(length))"
    }
}
