/// Identifies one window of one series.
public struct WindowGroup: Sendable, Hashable {
    public var device: DeviceID
    public var metric: Metric
    public var channel: Int?
    public var windowLength: Int64
    public var windowStart: EpochMillis
    public init(device: DeviceID, metric: Metric, channel: Int?, windowLength: Int64, windowStart: EpochMillis) {
        self.device = device
        self.metric = metric
        self.channel = channel
        self.windowLength = windowLength
        self.windowStart = windowStart
    }

    public var window: Window { Window(start: windowStart, length: windowLength) }
}

/// One window of one series over a roll-up group (zone or station) and kind.
public struct ZoneWindow: Sendable, Hashable {
    public var zone: String
    public var kind: SensorKind
    public var metric: Metric
    public var channel: Int?
    public var windowLength: Int64
    public var windowStart: EpochMillis

    public init(zone: String, kind: SensorKind, metric: Metric, channel: Int?, windowLength: Int64, windowStart: EpochMillis) {
        self.zone = zone
        self.kind = kind
        self.metric = metric
        self.channel = channel
        self.windowLength = windowLength
        self.windowStart = windowStart
    }
}

/// A closed window as stored: its key, series and statistics (canonical counts).
public struct AggregateRecord: Sendable, Equatable {
    public var windowKey: String
    public var group: WindowGroup
    public var kind: SensorKind
    public var statistics: WindowStatistics
    /// Device scope: the exact sum of the window's readings (nil: not known,
    /// as for an aggregate read back for delivery). Stored with the
    /// aggregate, so a window whose accumulator was pruned can take a
    /// reading that is still on time (one requeued from quarantine).
    public var sum: Int128?
    /// A device's own window, or a zone roll-up over its devices' windows.
    public var scope: AggregateScope
    /// Device scope: the roll-up group the device belongs to (zone, or
    /// station for air quality). Zone scope: the group's name.
    public var zone: String?

    public init(windowKey: String, group: WindowGroup, kind: SensorKind, statistics: WindowStatistics, sum: Int128? = nil,
                scope: AggregateScope = .device, zone: String? = nil) {
        self.sum = sum
        self.windowKey = windowKey
        self.group = group
        self.kind = kind
        self.statistics = statistics
        self.scope = scope
        self.zone = zone
    }
}

/// What one aggregate is about.
public enum AggregateScope: Sendable, Equatable {
    case device
    /// A roll-up over `members` devices; `total` is the exact sum of the
    /// member values (for parking: the occupied spots).
    case zone(members: Int64, total: Int64)

    public var storedName: String {
        if case .zone = self { return "zone" }
        return "device"
    }
}
