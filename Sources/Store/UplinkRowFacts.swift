import Readings

/// The columns of an uplink row that say what processing made of it.
struct UplinkRowFacts {
    var state: UplinkState
    var envelope: String?
    var device: DeviceID?
    var fCnt: UInt32?
    var fPort: Int?
    var networkTime: EpochMillis?

    init(state: UplinkState, envelope: String? = nil, device: DeviceID? = nil) {
        self.state = state
        self.envelope = envelope
        self.device = device
    }

    init(_ facts: FrameFacts, state: UplinkState) {
        self.init(state: state, envelope: facts.envelope, device: facts.device)
        fCnt = facts.fCnt
        fPort = facts.fPort
        networkTime = facts.networkTime
    }

    /// The row as the outcome leaves it, a duplicate frame aside (which `record` decides).
    init(_ outcome: ProcessedOutcome) {
        switch outcome {
        case let .decoded(facts, _): self.init(facts, state: .decoded)
        case let .quarantined(device, facts, _, _): self = facts.map { UplinkRowFacts($0, state: .quarantined) } ?? UplinkRowFacts(state: .quarantined, device: device)
        case let .event(type, device, _, _): self.init(state: .event, envelope: "event:" + type, device: device)
        case let .ignored(facts, _): self.init(facts, state: .ignored)
        }
    }

    /// state, envelope, device, fcnt, fport, network_ms
    var columns: [SQLiteValue] {
        [.integer(state.rawValue), .optional(envelope), .optional(device), fCnt.map { .integer(Int64($0)) } ?? .null,
         fPort.map { .integer(Int64($0)) } ?? .null, networkTime.map { .integer($0) } ?? .null]
    }
}

extension ProcessedOutcome {
    /// The envelope facts the outcome carries (an event and a frame quarantined before its envelope was read have none).
    var facts: FrameFacts? {
        switch self {
        case let .decoded(facts, _), let .ignored(facts, _): facts
        case let .quarantined(_, facts, _, _): facts
        case .event: nil
        }
    }
}
