/// The running statistics of one window of one series: what is kept per open
/// window instead of re-reading its readings when it closes. Folding readings
/// in arrival order gives the same statistics as `WindowStatistics.of` over
/// them in time order: count, min, max and the sum do not depend on order,
/// and `last` is the reading with the latest time, the later arrival on a tie.
public struct WindowAccumulator: Sendable, Equatable {
    public private(set) var count: Int64
    public private(set) var min: Int64
    public private(set) var max: Int64
    /// The exact sum: 128 bits, so no window can overflow it.
    public private(set) var sum: Int128
    public private(set) var last: Int64
    public private(set) var lastTime: EpochMillis

    /// A window with one reading.
    public init(time: EpochMillis, value: Int64) {
        count = 1
        min = value
        max = value
        sum = Int128(value)
        last = value
        lastTime = time
    }

    /// As stored (see the store's `OpenWindows`).
    public init(count: Int64, min: Int64, max: Int64, sum: Int128, last: Int64, lastTime: EpochMillis) {
        self.count = count
        self.min = min
        self.max = max
        self.sum = sum
        self.last = last
        self.lastTime = lastTime
    }

    /// Takes one more reading, arrived after every one taken so far.
    public mutating func take(time: EpochMillis, value: Int64) {
        // A window holds at most as many readings as a database has rows:
        // the count cannot reach Int64.max, and the 128-bit sum of Int64s
        // would need 2^64 of them to overflow.
        count &+= 1
        min = Swift.min(min, value)
        max = Swift.max(max, value)
        sum += Int128(value)
        if time >= lastTime {
            last = value
            lastTime = time
        }
    }

    /// Count, min, max, mean and last. The mean is the exact sum divided by
    /// the count, rounded half away from zero (the rule in `FixedPoint`);
    /// |mean| ≤ max(|min|, |max|), so it always fits in Int64.
    public var statistics: WindowStatistics {
        let mean = Int64(FixedPoint.divideRounded(sum, by: Int128(count)) ?? 0)
        return WindowStatistics(count: count, min: min, max: max, mean: mean, last: last, lastTime: lastTime)
    }
}
