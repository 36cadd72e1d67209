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
    public var ruleKind: SensorKind?
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
    /// Not usable: keep the bytes, say why (`detail` is for people).
    case quarantined(device: DeviceID?, facts: FrameFacts?, reason: QuarantineReason, detail: String)
    /// A network-server event that is not an uplink (join, status, ...),
    /// with readings when it carries some (a status event's battery level).
    /// `registered`: the device is in the registry or a codec rule's; only
    /// then does a join start a frame-counter session (random DevEUIs must
    /// not grow the session table).
    case event(type: String, device: DeviceID?, readings: [ReadingRow], registered: Bool = true)
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
