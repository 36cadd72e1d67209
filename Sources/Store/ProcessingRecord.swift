import Readings

/// What `record` did with a batch, for counters and logs.
public struct RecordSummary: Sendable, Equatable {
    public var readingsStored = 0
    public var quarantined = 0
    public var duplicateFrames: [Int64] = []
    /// Uplink id → LoRaWAN frames missing before it (counter gap in the session).
    public var frameGaps: [Int64: Int64] = [:]
    public var events = 0
    public var ignored = 0
    /// Readings whose window closed before and whose uplink came after the
    /// window's end plus grace plus lateness: stored, not aggregated.
    public var readingsTooLate = 0
    /// One window that had a reading too late (for the log line).
    public var lateWindow: WindowGroup?
    public init() {}
}

/// Recording what the processing stage made of a batch of raw uplinks:
/// readings, quarantine rows, duplicate frames, events, in one transaction.
/// Whether a frame is a second copy is decided here, where the frames
/// already kept are, by `FrameDeduplication`'s rules.
extension GatewayStore {
    /// Records a batch in one transaction. A decoded frame whose (device,
    /// fCnt) was already seen in the device's current session is recorded
    /// as a duplicate frame instead.
    public func record(_ batch: [ProcessedUplink], now: EpochMillis) throws -> RecordSummary {
        try transaction { try recordInTransaction(batch, now: now) }
    }

    /// `record` inside a transaction the caller holds (see `commitAndRecord`).
    func recordInTransaction(_ batch: [ProcessedUplink], now: EpochMillis) throws -> RecordSummary {
        var summary = RecordSummary()
        var sessions = DeviceSessionBatch(connection: connection)
        var windows = WindowAccumulatorBatch(connection: connection, revisableMillis: revisableMillis, now: now)
        for item in batch {
            try record(item, now: now, sessions: &sessions, windows: &windows, into: &summary)
        }
        try sessions.write()
        try windows.write()
        if summary.readingsTooLate > 0 {
            try bump("readings_too_late", by: Int64(summary.readingsTooLate))
            summary.lateWindow = windows.lateWindow
        }
        return summary
    }

    private func record(_ item: ProcessedUplink, now: EpochMillis, sessions: inout DeviceSessionBatch, windows: inout WindowAccumulatorBatch,
                        into summary: inout RecordSummary) throws {
        let id = item.uplinkID
        switch item.outcome {
        case let .decoded(facts, readings):
            let (frameKey, duplicate, gap) = try frameIdentity(id: id, facts: facts, now: now, sessions: &sessions)
            if gap > 0 { summary.frameGaps[id] = gap }
            if duplicate { return try recordDuplicateFrame(id, facts, into: &summary) }
            try setFacts(id, facts, state: .decoded, frameKey: frameKey)
            try noteActivity(facts.device, uplink: id)
            summary.readingsTooLate += try insert(readings, uplinkID: id, windows: &windows)
            summary.readingsStored += readings.count
        case let .quarantined(device, facts, reason, detail):
            // A second network-server copy of a frame already quarantined (same
            // device and counter) is a duplicate, not a second quarantine row.
            // Only within the device's session: after a rejoin or battery swap
            // the same counter is a new frame (and a quarantined frame's
            // counter, from the network server, still marks the session).
            if let facts, let fCnt = facts.fCnt {
                let placement = FrameDeduplication.place(fCnt: fCnt, id: id, session: try sessions.current(facts.device), policy: deduplication)
                if try isQuarantinedCopy(id, device: facts.device, fCnt: fCnt, sessionStart: placement.sessionStart, now: now) {
                    return try recordDuplicateFrame(id, facts, into: &summary)
                }
                // Not for devices nobody registered: random DevEUIs must not grow the table.
                if reason != .unknownDevice { try sessions.note(facts.device, fCnt: fCnt, placement: placement) }
            }
            if let facts {
                // A frame key with its counter, so a later copy finds it (`isQuarantinedCopy`).
                try setFacts(id, facts, state: .quarantined, frameKey: facts.fCnt.map { FrameDeduplication.frameKey(device: facts.device, fCnt: $0) })
            }
            else {
                try connection.run("UPDATE uplinks SET state = ?, device = ? WHERE id = ?",
                                   [.integer(UplinkState.quarantined.rawValue), .optional(device), .integer(id)])
            }
            try insertQuarantine(id, device: device, reason: reason, detail: detail, now: now)
            // Unknown devices are not tracked (random ids must not grow the
            // table); the quarantine shows them.
            if let device, reason != .unknownDevice { try noteActivity(device, uplink: id) }
            summary.quarantined += 1
        case let .event(type, device, readings, registered):
            summary.readingsTooLate += try insert(readings, uplinkID: id, windows: &windows)
            summary.readingsStored += readings.count
            try connection.run("UPDATE uplinks SET state = ?, envelope = ?, device = ? WHERE id = ?",
                               [.integer(UplinkState.event.rawValue), .text("event:" + type), .optional(device), .integer(id)])
            if registered, let device { try noteActivity(device, uplink: id) }
            if type == "join", registered, let device {
                // A join starts a new session: frame counters begin again.
                sessions.startSession(device, at: id)
            }
            summary.events += 1
        case let .ignored(facts, _):
            try setFacts(id, facts, state: .ignored, frameKey: nil)
            try noteActivity(facts.device, uplink: id)
            summary.ignored += 1
        }
    }

    /// The frame's identity (its `frame_key`) and whether the store has seen
    /// it already: (device, fCnt) in the device's session within the
    /// duplicate window, or for frames without a counter (device, payload
    /// fingerprint) within the uncounted window. Also the counter gap.
    private func frameIdentity(id: Int64, facts: FrameFacts, now: EpochMillis, sessions: inout DeviceSessionBatch)
        throws -> (key: String?, duplicate: Bool, gap: Int64) {
        if let fCnt = facts.fCnt {
            let key = FrameDeduplication.frameKey(device: facts.device, fCnt: fCnt)
            let placement = FrameDeduplication.place(fCnt: fCnt, id: id, session: try sessions.current(facts.device), policy: deduplication)
            if try isKeptCopy(id, key: key, state: .decoded, sessionStart: placement.sessionStart, after: now - frameDuplicateWindow) {
                return (key, true, 0)
            }
            try sessions.note(facts.device, fCnt: fCnt, placement: placement)
            return (key, false, placement.gap)
        }
        guard let fingerprint = facts.payloadFingerprint else { return (nil, false, 0) }
        let key = FrameDeduplication.frameKey(device: facts.device, fingerprint: fingerprint)
        return (key, try isKeptCopy(id, key: key, state: .decoded, sessionStart: 0, after: now - deduplication.uncountedWindowMillis), 0)
    }

    /// The same (device, counter) quarantined before in this session, within the duplicate window.
    private func isQuarantinedCopy(_ id: Int64, device: DeviceID, fCnt: UInt32, sessionStart: Int64, now: EpochMillis) throws -> Bool {
        try isKeptCopy(id, key: FrameDeduplication.frameKey(device: device, fCnt: fCnt), state: .quarantined, sessionStart: sessionStart,
                       after: now - frameDuplicateWindow)
    }

    /// Whether another uplink with this frame key, in this state, was
    /// recorded since `sessionStart` and received after `after`. Decoded
    /// frames and quarantined frames with a counter carry a frame key; the
    /// one index on it (`uplinks_by_frame`) serves both checks.
    private func isKeptCopy(_ id: Int64, key: String, state: UplinkState, sessionStart: Int64, after: EpochMillis) throws -> Bool {
        try connection.scalar(Self.keptCopies, [.text(key), .integer(state.rawValue), .integer(sessionStart), .integer(id), .integer(after)]) ?? 0 > 0
    }

    static let keptCopies = "SELECT count(*) FROM uplinks WHERE frame_key = ? AND state = ? AND id >= ? AND id <> ? AND received_ms > ?"

    /// One more uplink of `device`, arrived when uplink `uplink` did.
    private func noteActivity(_ device: DeviceID, uplink: Int64) throws {
        try connection.run(
            """
            INSERT INTO device_activity (device, uplinks, last_seen_ms) SELECT ?1, 1, received_ms FROM uplinks WHERE id = ?2
            ON CONFLICT(device) DO UPDATE SET uplinks = uplinks + 1, last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)
            """, [.text(device), .integer(uplink)])
    }

    /// A second copy of a frame already kept (decoded or quarantined): its facts, no readings, counted.
    private func recordDuplicateFrame(_ id: Int64, _ facts: FrameFacts, into summary: inout RecordSummary) throws {
        try setFacts(id, facts, state: .duplicateFrame, frameKey: nil)
        try noteActivity(facts.device, uplink: id)
        try bump("frames_duplicate")
        summary.duplicateFrames.append(id)
    }
}
