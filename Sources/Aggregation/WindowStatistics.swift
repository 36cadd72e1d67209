import Readings

extension WindowStatistics {
    /// Folds readings given in time order (ties in arrival order). Nil for an
    /// empty window: no window is sent without readings.
    ///
    /// The mean is the exact sum (128-bit, so no window can overflow it)
    /// divided by the count, rounded half away from zero: the rule in `FixedPoint`.
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
