import Readings

/// What the ingest commit made of one MQTT message.
public enum IngestResult: Sendable, Equatable {
    /// Committed as a new raw uplink with this id.
    case stored(Int64)
    /// The same topic and bytes were committed before (a QoS 1 redelivery).
    case duplicate(of: Int64)
}

/// A committed raw uplink waiting for the envelope and decode stages.
public struct RawUplink: Sendable, Equatable {
    public var id: Int64
    public var receivedAt: EpochMillis
    public var topic: String
    public var message: [UInt8]

    public init(id: Int64, receivedAt: EpochMillis, topic: String, message: [UInt8]) {
        self.id = id
        self.receivedAt = receivedAt
        self.topic = topic
        self.message = message
    }
}

/// A reading ready to store, with the window it falls in.
public struct ReadingRow: Sendable, Equatable {
    public var reading: Reading
    public var windowLength: Int64
    public var windowStart: EpochMillis

    public init(reading: Reading, windowLength: Int64, windowStart: EpochMillis) {
        self.reading = reading
        self.windowLength = windowLength
        self.windowStart = windowStart
    }
}

/// Envelope facts recorded on the raw uplink row.
public struct FrameFacts: Sendable, Equatable {
    public var envelope: String
    public var device: DeviceID
    public var fCnt: UInt32?
    public var fPort: Int?
    public var networkTime: EpochMillis?
    /// For frames without a counter (some NB-IoT): a fingerprint of the
    /// payload, the frame's identity within the uncounted-duplicate window.
    public var payloadFingerprint: Int64?
    /// For a device known by a codec rule rather than listed in the registry:
    /// the kind and roll-up group the rule gave it, kept in the store so the
    /// aggregation stage (which sees only device ids) treats it right,
    /// damp privacy included.
    public var ruleKind: String?
    public var ruleZone: String?

    public init(envelope: String, device: DeviceID, fCnt: UInt32?, fPort: Int?, networkTime: EpochMillis?, payloadFingerprint: Int64? = nil) {
        self.envelope = envelope
        self.device = device
        self.fCnt = fCnt
        self.fPort = fPort
        self.networkTime = networkTime
        self.payloadFingerprint = payloadFingerprint
    }
}

/// What the processing stage decided for one raw uplink.
public enum ProcessedOutcome: Sendable, Equatable {
    /// Decoded: store the readings (possibly none, e.g. a status frame).
    case decoded(FrameFacts, [ReadingRow])
    /// Not usable: keep the bytes, say why.
    case quarantined(device: DeviceID?, facts: FrameFacts?, category: String, reason: String)
    /// The quarantine category of a device in no registry (the store keeps no session for it).
    public static let unknownDevice = "unknown_device"
    /// A network-server event that is not an uplink (join, status, ...),
    /// with readings when it carries some (a status event's battery level).
    case event(type: String, device: DeviceID?, readings: [ReadingRow])
    /// A frame with nothing to decode (fPort 0, MAC only).
    case ignored(FrameFacts, reason: String)
}

public struct ProcessedUplink: Sendable, Equatable {
    public var uplinkID: Int64
    public var outcome: ProcessedOutcome
    public init(uplinkID: Int64, outcome: ProcessedOutcome) {
        self.uplinkID = uplinkID
        self.outcome = outcome
    }
}

/// What `record` did with a batch, for counters and logs.
public struct RecordSummary: Sendable, Equatable {
    public var readingsStored = 0
    public var quarantined = 0
    public var duplicateFrames: [Int64] = []
    /// Uplink id → LoRaWAN frames missing before it (counter gap in the session).
    public var frameGaps: [Int64: Int64] = [:]
    public var events = 0
    public var ignored = 0
    public init() {}
}

/// Identifies one window of one series.
public struct WindowGroup: Sendable, Hashable {
    public var device: DeviceID
    public var metric: String
    public var channel: Int?
    public var windowLength: Int64
    public var windowStart: EpochMillis
    public init(device: DeviceID, metric: String, channel: Int?, windowLength: Int64, windowStart: EpochMillis) {
        self.device = device
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
    public var kind: String
    public var statistics: WindowStatistics
    /// The highest reading id the statistics include: readings of the window
    /// committed after they were read stay unaggregated, for the next revision.
    public var throughReadingID: Int64
    /// A device's own window, or a zone roll-up over its devices' windows.
    public var scope: AggregateScope
    /// Device scope: the roll-up group the device belongs to (zone, or
    /// station for air quality). Zone scope: the group's name.
    public var zone: String?

    public init(windowKey: String, group: WindowGroup, kind: String, statistics: WindowStatistics, throughReadingID: Int64 = .max,
                scope: AggregateScope = .device, zone: String? = nil) {
        self.windowKey = windowKey
        self.group = group
        self.kind = kind
        self.statistics = statistics
        self.throughReadingID = throughReadingID
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

/// An aggregate waiting for a hub, with what the hub already holds of it.
public struct PendingDelivery: Sendable, Equatable {
    public var aggregateID: Int64
    public var revision: Int64
    public var record: AggregateRecord
    /// The hub's id or self-link from an earlier revision, if any.
    public var hubRef: String?
    public var attempts: Int64
    /// Sent before without a clear answer (a crash mid-batch, a timeout):
    /// the hub may hold it already, so ask before sending it again.
    public var wasInFlight: Bool = false
}

/// Figures for `citygate status` and the metrics endpoint.
public struct StoreStatistics: Sendable, Equatable {
    public var uplinksStored: Int64 = 0
    public var uplinksPending: Int64 = 0
    public var readingsStored: Int64 = 0
    public var duplicates: Int64 = 0
    public var quarantined: Int64 = 0
    public var aggregates: Int64 = 0
    /// Readings that came after their window's lateness: stored, not aggregated.
    public var readingsTooLate: Int64 = 0
    public var hubs: [String: HubBacklog] = [:]

    public struct HubBacklog: Sendable, Equatable {
        public var backlog: Int64
        public var delivered: Int64
        public var deadLettered: Int64
        public var oldestUndelivered: EpochMillis?
    }
}
