import Readings

extension WindowStatistics {
    /// Folds readings given in time order (ties in arrival order). Nil for an
    /// empty window: no window is sent without readings. The fold is the
    /// store's own (`WindowAccumulator`), so a window closed from its
    /// accumulator and one computed here from its readings agree.
    public static func of(_ values: [(time: EpochMillis, value: Int64)]) -> WindowStatistics? {
        guard let first = values.first else { return nil }
        var accumulator = WindowAccumulator(time: first.time, value: first.value)
        for item in values.dropFirst() { accumulator.take(time: item.time, value: item.value) }
        return accumulator.statistics
    }
}
