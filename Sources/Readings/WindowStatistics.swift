/// Count, min, max, mean and last of one window of one series, in the
/// metric's canonical counts. Computed by `WindowStatistics.of` in the
/// Aggregation module.
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
}
