import Readings

/// One closed window on its way to a hub, with what the hub needs to label it.
public struct OutboundAggregate: Sendable, Equatable {
    public var aggregateID: Int64
    public var revision: Int64
    public var windowKey: String
    public var source: DeviceID
    public var kind: SensorKind
    public var metric: Metric
    public var channel: Int?
    public var window: Window
    public var statistics: WindowStatistics
    /// The hub's id or self-link from an earlier revision: a re-opened window
    /// updates what the hub holds instead of adding a second observation.
    public var hubRef: String?
    /// From the device registry.
    public var deviceName: String?
    public var zone: String?
    /// WGS84 longitude and latitude as exact decimal text, when known.
    public var location: (longitude: String, latitude: String)?

    public init(aggregateID: Int64, revision: Int64, windowKey: String, source: DeviceID, kind: SensorKind, metric: Metric,
                channel: Int?, window: Window, statistics: WindowStatistics, hubRef: String? = nil,
                deviceName: String? = nil, zone: String? = nil, location: (longitude: String, latitude: String)? = nil) {
        self.aggregateID = aggregateID
        self.revision = revision
        self.windowKey = windowKey
        self.source = source
        self.kind = kind
        self.metric = metric
        self.channel = channel
        self.window = window
        self.statistics = statistics
        self.hubRef = hubRef
        self.deviceName = deviceName
        self.zone = zone
        self.location = location
    }

    public static func == (a: OutboundAggregate, b: OutboundAggregate) -> Bool {
        a.aggregateID == b.aggregateID && a.revision == b.revision && a.windowKey == b.windowKey
            && a.statistics == b.statistics && a.hubRef == b.hubRef
    }

    func decimal(_ units: Int64) -> JSONText { .decimal(units, decimals: metric.decimals) }

    /// The flat JSON object the file output writes and tests read back.
    public var json: JSONText {
        .object([
            ("id", .string(windowKey)),
            ("revision", .integer(revision)),
            ("source", .string(source)),
            ("kind", .string(kind.rawValue)),
            ("metric", .string(metric.name)),
            ("channel", channel.map { .integer(Int64($0)) } ?? .null),
            ("unit", .string(metric.unitCode)),
            ("windowStart", .string(RFC3339.format(window.start))),
            ("windowEnd", .string(RFC3339.format(window.end))),
            ("count", .integer(statistics.count)),
            ("min", decimal(statistics.min)),
            ("max", decimal(statistics.max)),
            ("mean", decimal(statistics.mean)),
            ("last", decimal(statistics.last)),
            ("lastTime", .string(RFC3339.format(statistics.lastTime))),
        ])
    }
}

/// What a hub said about one aggregate.
public enum DeliveryResult: Sendable, Equatable {
    /// Held by the hub; `ref` is its id or self-link when it gave one.
    case delivered(ref: String?)
    /// Not now (hub down, 5xx, 429, timeout): keep it and try again,
    /// no sooner than `afterSeconds` when the hub said so.
    case retry(reason: String, afterSeconds: Int?)
    /// Refused for good (4xx): dead-letter it with the hub's answer.
    case rejected(reason: String)
}

/// An output of the gateway: NGSI-LD, SensorThings, files. Each hub has its
/// own cursor in the store's delivery ledger.
public protocol Hub: Sendable {
    /// The name in config, metrics (`hub=...`) and the delivery ledger.
    var name: String { get }
    /// A private hub may receive per-home values; a public one only what is
    /// safe to publish.
    var isPrivate: Bool { get }
    /// Delivers a batch; returns one result per aggregate, in order.
    func deliver(_ batch: [OutboundAggregate]) async -> [DeliveryResult]
}

/// Where a hub remembers the ids it was given (SensorThings Things and
/// Datastreams), so they survive a restart. The gateway backs it with SQLite.
public protocol HubReferenceStore: Sendable {
    func reference(hub: String, key: String) -> String?
    func remember(hub: String, key: String, reference: String)
}
