import Readings

/// Zone roll-ups: one window of one series over every device of a zone (or,
/// for air quality, a station) that reported in it. Each device adds one
/// member value: its window mean, or for a state such as parking occupancy
/// its last value (the state at the window's end). The roll-up keeps count
/// (devices), min, max, mean (rounded half away from zero, as everywhere) and
/// the exact sum of the member values: for parking, the occupied spots.
public enum ZoneRollup {
    /// The roll-up group of a device: its station for air quality when the
    /// registry names one, else its zone. Nil: the device is in no group.
    public static func group(kind: SensorKind, zone: String?, station: String?) -> String? {
        if kind == .airQuality, let station, !station.isEmpty { return "station:" + station }
        guard let zone, !zone.isEmpty else { return nil }
        return "zone:" + zone
    }

    /// A device's value in a roll-up: its last for a state (`MetricInfo.isState`), else its mean.
    public static func memberValue(_ metric: Metric, _ statistics: WindowStatistics) -> Int64 {
        metric.info.isState ? statistics.last : statistics.mean
    }

    /// Nil when there are no members.
    public static func of(metric: Metric, members: [WindowStatistics]) -> (statistics: WindowStatistics, total: Int64)? {
        let values = members.map { (time: $0.lastTime, value: memberValue(metric, $0)) }.sorted { $0.time < $1.time }
        guard let statistics = WindowStatistics.of(values) else { return nil }
        var total: Int128 = 0
        for value in values { total += Int128(value.value) }
        // Member values are plausible-range readings, so the sum of any real
        // zone fits; saturate rather than trap if it ever did not.
        let clamped = total > Int128(Int64.max) ? Int64.max : total < Int128(Int64.min) ? Int64.min : Int64(total)
        return (statistics, clamped)
    }

    /// Privacy: homes are identifiable in a small zone. A damp roll-up goes to
    /// a public hub only over at least `minimumHomes` homes (one sensor per
    /// home, as the registry lists them).
    public static func isPublishable(kind: SensorKind, members: Int64, minimumHomes: Int) -> Bool {
        kind != .damp || members >= Int64(minimumHomes)
    }

    /// The roll-up aggregate of one zone window over its members' window
    /// statistics, and whether a public hub may have it. Nil when there are
    /// no members.
    public static func aggregate(_ window: ZoneWindow, members: [WindowStatistics], minimumHomes: Int)
        -> (record: AggregateRecord, publishable: Bool)? {
        guard let rollup = of(metric: window.metric, members: members) else { return nil }
        let source = "\(window.zone):\(window.kind.rawValue)"
        let group = WindowGroup(device: source, metric: window.metric, channel: window.channel, windowLength: window.windowLength,
                                windowStart: window.windowStart)
        let record = AggregateRecord(windowKey: WindowKey.make(group), group: group, kind: window.kind, statistics: rollup.statistics,
                                     scope: .zone(members: rollup.statistics.count, total: rollup.total), zone: window.zone)
        return (record, isPublishable(kind: window.kind, members: rollup.statistics.count, minimumHomes: minimumHomes))
    }
}
