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
/// Whether a frame is a second copy is decided here, by
/// `FrameDeduplication`'s rules over the device's session row, which
/// remembers the frames the session kept.
extension GatewayStore {
    /// Records a batch in one transaction. A decoded frame whose (device,
    /// fCnt) was already seen in the device's current session is recorded
    /// as a duplicate frame instead.
    public func record(_ batch: [ProcessedUplink], now: EpochMillis) throws -> RecordSummary {
        try transaction { try recordInTransaction(batch, now: now) }
    }

    /// `record` inside a transaction the caller holds (see `commitAndRecord`).
    /// `inserted`: the uplinks this transaction inserted, with their arrival.
    /// Their rows were written as their outcomes leave them (`UplinkRowFacts`),
    /// so only a duplicate frame changes its row, and their arrival needs no read.
    func recordInTransaction(_ batch: [ProcessedUplink], now: EpochMillis, inserted: [Int64: EpochMillis] = [:]) throws -> RecordSummary {
        var summary = RecordSummary()
        var sessions = DeviceSessionBatch(connection: connection, cache: rowCache, revisableMillis: revisableMillis, expectedDevices: batch.count)
        // Nothing the batch reads is in `uplink_readings`: its rows go in at the end, a chunk at a time.
        var readingRows = RowBatch(Self.insertUplinkReadings, expectedRows: batch.count)
        for item in batch {
            let insertedAt = inserted[item.uplinkID]
            let arrived = try insertedAt
                ?? connection.scalar("SELECT received_ms FROM uplinks WHERE id = ?", [.integer(item.uplinkID)]) ?? 0
            try record(item, now: now, arrived: arrived, rowWritten: insertedAt != nil, sessions: &sessions, readingRows: &readingRows,
                       into: &summary)
            if let facts = item.outcome.facts { try noteRuleDevice(facts) }
        }
        try readingRows.flush(on: connection)
        try sessions.write()
        if summary.readingsTooLate > 0 {
            try bump("readings_too_late", by: Int64(summary.readingsTooLate))
            summary.lateWindow = sessions.lateWindow
        }
        return summary
    }

    /// One uplink of the batch, which arrived (was committed) at `arrived`.
    private func record(_ item: ProcessedUplink, now: EpochMillis, arrived: EpochMillis, rowWritten: Bool, sessions: inout DeviceSessionBatch,
                        readingRows: inout RowBatch, into summary: inout RecordSummary) throws {
        let id = item.uplinkID
        if !rowWritten { try setFacts(id, UplinkRowFacts(item.outcome)) }
        switch item.outcome {
        case let .decoded(facts, readings):
            let (duplicate, gap) = try isDuplicateFrame(id: id, facts: facts, now: now, sessions: &sessions)
            if gap > 0 { summary.frameGaps[id] = gap }
            if duplicate { return try recordDuplicateFrame(id, facts, arrived: arrived, sessions: &sessions, into: &summary) }
            sessions.noteActivity(facts.device, arrived: arrived)
            summary.readingsTooLate += try insert(readings, uplinkID: id, arrived: arrived, sessions: &sessions, rows: &readingRows)
            summary.readingsStored += readings.count
        case let .quarantined(device, facts, reason, detail):
            // A second network-server copy of a frame already quarantined (same
            // device and counter) is a duplicate, not a second quarantine row.
            // Only within the device's session: after a rejoin or battery swap
            // the same counter is a new frame (and a quarantined frame's
            // counter, from the network server, still marks the session).
            // A device nobody registered keeps no session (random DevEUIs
            // must not grow the table): its copies are found among its
            // quarantine samples.
            if let facts, let fCnt = facts.fCnt, reason == .unknownDevice,
               try isUnregisteredCopy(id, device: facts.device, fCnt: fCnt, now: now) {
                return try recordDuplicateFrame(id, facts, arrived: arrived, registered: false, sessions: &sessions, into: &summary)
            }
            if let facts, let fCnt = facts.fCnt, reason != .unknownDevice {
                let session = try sessions.current(facts.device)
                let placement = FrameDeduplication.place(fCnt: fCnt, id: id, session: session, policy: deduplication)
                if FrameDeduplication.isCopy(fCnt: fCnt, of: .quarantined, in: placement, session: session, now: now, policy: deduplication) {
                    return try recordDuplicateFrame(id, facts, arrived: arrived, sessions: &sessions, into: &summary)
                }
                try sessions.set(facts.device, FrameDeduplication.noting(fCnt: fCnt, as: .quarantined, in: placement, session: session, now: now,
                                                                     policy: deduplication))
            }
            try insertQuarantine(id, device: device, reason: reason, detail: detail, now: now)
            // Unknown devices are not tracked (random ids must not grow the
            // table); the quarantine shows them.
            if let device, reason != .unknownDevice { sessions.noteActivity(device, arrived: arrived) }
            summary.quarantined += 1
        case let .event(type, device, readings, registered):
            summary.readingsTooLate += try insert(readings, uplinkID: id, arrived: arrived, sessions: &sessions, rows: &readingRows)
            summary.readingsStored += readings.count
            if registered, let device { sessions.noteActivity(device, arrived: arrived) }
            if type == "join", registered, let device {
                // A join starts a new session: frame counters begin again.
                try sessions.startSession(device, at: id)
            }
            summary.events += 1
        case let .ignored(facts, _):
            sessions.noteActivity(facts.device, arrived: arrived)
            summary.ignored += 1
        }
    }

    /// Whether the session has kept this frame already, (device, fCnt) in
    /// the device's session within the duplicate window, or for frames
    /// without a counter (device, payload fingerprint) within the uncounted
    /// window; and the counter gap. A frame that is not a copy is remembered.
    private func isDuplicateFrame(id: Int64, facts: FrameFacts, now: EpochMillis, sessions: inout DeviceSessionBatch)
        throws -> (duplicate: Bool, gap: Int64) {
        let session = try sessions.current(facts.device)
        if let fCnt = facts.fCnt {
            let placement = FrameDeduplication.place(fCnt: fCnt, id: id, session: session, policy: deduplication)
            if FrameDeduplication.isCopy(fCnt: fCnt, of: .decoded, in: placement, session: session, now: now, policy: deduplication) {
                return (true, 0)
            }
            try sessions.set(facts.device, FrameDeduplication.noting(fCnt: fCnt, as: .decoded, in: placement, session: session, now: now,
                                                                 policy: deduplication))
            return (false, placement.gap)
        }
        guard let fingerprint = facts.payloadFingerprint else { return (false, 0) }
        if FrameDeduplication.isCopy(fingerprint: fingerprint, session: session, now: now, policy: deduplication) { return (true, 0) }
        try sessions.set(facts.device, FrameDeduplication.noting(fingerprint: fingerprint, session: session, now: now, policy: deduplication))
        return (false, 0)
    }

    /// Whether a frame of a device nobody registered, with this counter, was
    /// quarantined before within the duplicate window. Looked up among the
    /// device's quarantine samples (`quarantine_by_source`): at most
    /// `floodSamples` an hour, so the lookup stays bounded under a flood, and
    /// a copy of a frame the flood only counted is counted with it.
    private func isUnregisteredCopy(_ id: Int64, device: DeviceID, fCnt: UInt32, now: EpochMillis) throws -> Bool {
        try connection.scalar(Self.unregisteredCopies, [.text(device), .text(QuarantineReason.unknownDevice.rawValue),
                                                        .integer(now - frameDuplicateWindow), .integer(Int64(fCnt)), .integer(id)]) ?? 0 > 0
    }

    static let unregisteredCopies = """
        SELECT count(*) FROM quarantine q JOIN uplinks u ON u.id = q.uplink_id
        WHERE q.source = ? AND q.category = ? AND q.last_seen_ms > ? AND u.fcnt = ? AND u.id <> ?
        """

    /// A second copy of a frame already kept (decoded or quarantined): its facts, no readings, counted.
    /// A device nobody registered is not tracked (random ids must not grow the table).
    private func recordDuplicateFrame(_ id: Int64, _ facts: FrameFacts, arrived: EpochMillis, registered: Bool = true, sessions: inout DeviceSessionBatch,
                                      into summary: inout RecordSummary) throws {
        try setFacts(id, UplinkRowFacts(facts, state: .duplicateFrame))
        if registered { sessions.noteActivity(facts.device, arrived: arrived) }
        try bump("frames_duplicate")
        summary.duplicateFrames.append(id)
    }
}
