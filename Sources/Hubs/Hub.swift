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
    /// WGS84 longitude and latitude as exact decimal text, when known: the
    /// device's own (a device window), or its group's centroid (a roll-up).
    public var location: (longitude: String, latitude: String)?
    /// Where the window's area is when `location` is not known: the zone's
    /// `[[zone]]` point, else the centroid of the zone's located devices.
    public var areaLocation: (longitude: String, latitude: String)?
    /// What a hub that needs a position for every observation uses.
    public var placedAt: (longitude: String, latitude: String)? { location ?? areaLocation }
    /// A zone roll-up: how many devices, and the exact sum of their values
    /// (parking: occupied spots). Nil for a device's own window.
    public var rollup: (members: Int64, total: Int64)?

    public var isRollup: Bool { rollup != nil }

    public init(aggregateID: Int64, revision: Int64, windowKey: String, source: DeviceID, kind: SensorKind, metric: Metric,
                channel: Int?, window: Window, statistics: WindowStatistics, hubRef: String? = nil,
                deviceName: String? = nil, zone: String? = nil, location: (longitude: String, latitude: String)? = nil,
                areaLocation: (longitude: String, latitude: String)? = nil, rollup: (members: Int64, total: Int64)? = nil) {
        self.rollup = rollup
        self.areaLocation = areaLocation
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
            ("scope", .string(isRollup ? "zone" : "device")),
            ("zone", zone.map { .string($0) } ?? .null),
            ("members", rollup.map { .integer($0.members) } ?? .null),
            ("total", rollup.map { decimal($0.total) } ?? .null),
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
    /// The hub refused this one row and said why, while it took others
    /// (a FROST `error …` row in a 201): it may take the row later, so it is
    /// retried with backoff and dead-lettered with the hub's words after the
    /// hub's `max_row_attempts`.
    case refused(reason: String)
    /// The hub refused our credentials (401/403): keep it, pause this hub
    /// until the credentials are fixed.
    case unauthorized(reason: String)
    /// Sent, but no answer came (timeout, connection lost): the hub may hold
    /// it. It stays in flight and is reconciled with the hub before any resend.
    case unknown(reason: String)
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
    /// For aggregates sent before without a clear answer: which ones the hub
    /// already holds (`.delivered`), in order; nil = not there (send it), a
    /// `.retry`/`.unauthorized` = cannot tell now. Hubs that cannot be asked
    /// return nil for all.
    func reconcile(_ inFlight: [OutboundAggregate]) async -> [DeliveryResult?]
}

extension Hub {
    public func reconcile(_ inFlight: [OutboundAggregate]) async -> [DeliveryResult?] { inFlight.map { _ in nil } }
}

/// Where a hub remembers the ids it was given (SensorThings Things and
/// Datastreams), so they survive a restart. The gateway backs it with SQLite.
public protocol HubReferenceStore: Sendable {
    func reference(hub: String, key: String) -> String?
    func remember(hub: String, key: String, reference: String)
    /// The hub lost what this id named: it is found or made again on next use.
    func forget(hub: String, key: String)
}
