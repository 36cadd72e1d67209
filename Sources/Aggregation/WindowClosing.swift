import Readings

/// When a window closes and what its aggregate is. A window closes once its
/// end plus `grace` has passed. A reading that arrives after that but within
/// `lateness` re-opens it: the window closes again as the next revision of
/// the same aggregate (same key), and the hub updates what it holds. A
/// reading later than that is stored and counted, never aggregated.
public struct WindowClosing: Sendable, Equatable {
    public var graceMillis: Int64
    public var latenessMillis: Int64

    public init(graceMillis: Int64, latenessMillis: Int64) {
        self.graceMillis = graceMillis
        self.latenessMillis = latenessMillis
    }

    /// Grace plus lateness: how long after its end a closed window may
    /// still be revised. A reading committed after `window.end(plus:)` this
    /// is too late for a window closed before; the store decides that as the
    /// reading is recorded, given this as `StoreBounds.revisableMillis`.
    /// Both are bounded at config load (a day, 30 days), so the sum fits.
    public var revisableMillis: Int64 { graceMillis + latenessMillis }

    /// The aggregate of one device window from its running statistics.
    public func deviceAggregate(_ group: WindowGroup, kind: SensorKind, rollupGroup: String?, accumulator: WindowAccumulator) -> AggregateRecord {
        AggregateRecord(windowKey: WindowKey.make(group), group: group, kind: kind, statistics: accumulator.statistics,
                        sum: accumulator.sum, zone: rollupGroup)
    }
}

extension WindowKey {
    /// The key of a device window (or of a zone roll-up, whose group names the zone).
    public static func make(_ group: WindowGroup) -> String {
        make(source: group.device, metric: group.metric.name, channel: group.channel, start: group.windowStart, length: group.windowLength)
    }
}
