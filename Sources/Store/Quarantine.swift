import Readings

/// The quarantine: uplinks that could not be used, with the reason, kept
/// with their raw bytes until `citygate requeue` decodes them again.
extension GatewayStore {
    /// The detail kept with a quarantined uplink, at most: it quotes input
    /// (a topic, a device id, a field), and the raw bytes are kept anyway.
    static let maxDetailBytes = 512

    /// Samples kept per source (device, else topic) and reason within
    /// `floodWindowMillis`; beyond them a flood is counted, not stored.
    static let floodSamples = 20
    static let floodWindowMillis: Int64 = 3_600_000

    /// Inside the processing (or ingest) transaction: one quarantine row, or,
    /// when its source has already filled its samples for this reason within
    /// the last hour, a count on the newest sample and the raw bytes dropped.
    /// A broken or hostile publisher then costs a bounded number of rows
    /// (and bare uplink rows, which pruning takes first under pressure).
    func insertQuarantine(_ id: Int64, device: DeviceID?, reason: QuarantineReason, detail: String, now: EpochMillis) throws {
        let source = try device ?? connection.query("SELECT topic FROM uplinks WHERE id = ?", [.integer(id)]).first?[0].string ?? ""
        let recent = try connection.query(
            "SELECT count(*), max(id) FROM quarantine WHERE source = ? AND category = ? AND last_seen_ms > ?",
            [.text(source), .text(reason.rawValue), .integer(now - Self.floodWindowMillis)]).first
        if let samples = recent?[0].int, samples >= Self.floodSamples, let newest = recent?[1].int {
            try connection.run("UPDATE quarantine SET count = count + 1, last_seen_ms = max(last_seen_ms, ?) WHERE id = ?", [.integer(now), .integer(newest)])
            try connection.run("DELETE FROM uplink_messages WHERE uplink_id = ?", [.integer(id)])
            try bump("quarantine_flood_counted")
            return
        }
        try connection.run(
            "INSERT INTO quarantine (uplink_id, device, category, reason, first_seen_ms, last_seen_ms, source) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [.integer(id), .optional(device), .text(reason.rawValue),
             .text(BoundedText.prefix(detail, maxBytes: Self.maxDetailBytes)), .integer(now), .integer(now), .text(source)])
    }

    /// Quarantine rows last seen before `cutoff` (past `quarantine_retention`,
    /// or, under pressure, the oldest whatever their age), at most `limit`:
    /// the rows and their raw bytes go; the bare uplink rows are pruned with
    /// the others. Inside the pruning transaction.
    func pruneQuarantine(before cutoff: EpochMillis, limit: Int) throws -> Int {
        let rows = try connection.query(
            "SELECT id, uplink_id FROM quarantine WHERE last_seen_ms < ? ORDER BY last_seen_ms LIMIT ?",
            [.integer(cutoff), .integer(Int64(limit))])
        for row in rows {
            try connection.run("DELETE FROM quarantine WHERE id = ?", [row[0]])
            try connection.run("DELETE FROM uplink_messages WHERE uplink_id = ?", [row[1]])
        }
        return rows.count
    }

    /// Moves quarantined uplinks (optionally only one reason or device) back to
    /// pending, so the processing stage decodes them again with the current
    /// codecs and registry. Their quarantine rows go; one that fails again gets
    /// a new row. Oversized messages stay: only their first bytes were kept,
    /// so decoding them again could only fail. In transactions of at most
    /// `step` uplinks: a running daemon's intake waits for one step at most
    /// (well within SQLite's busy timeout), never for the whole quarantine;
    /// its processing loop picks the rows up as they come.
    public func requeueQuarantined(reason: QuarantineReason?, device: DeviceID?, step: Int = 500) throws -> Int {
        var total = 0
        var after: Int64 = 0
        while true {
            let ids = try transaction {
                let ids = try connection.query(
                    """
                    SELECT DISTINCT uplink_id FROM quarantine
                    WHERE uplink_id > ?3 AND (?1 IS NULL OR category = ?1) AND (?2 IS NULL OR device = ?2) AND category <> 'oversized'
                    ORDER BY uplink_id LIMIT ?4
                    """,
                    [.optional(reason?.rawValue), .optional(device), .integer(after), .integer(Int64(step))]
                ).compactMap { $0[0].int }
                // Its session forgets the frame was quarantined: if it fails
                // again it is quarantined again, not taken for a copy of itself.
                var sessions = DeviceSessionBatch(connection: connection, cache: rowCache, revisableMillis: revisableMillis)
                for id in ids {
                    try connection.run("DELETE FROM quarantine WHERE uplink_id = ?", [.integer(id)])
                    let row = try connection.query("UPDATE uplinks SET state = 0 WHERE id = ? RETURNING device, fcnt", [.integer(id)]).first
                    if let device = row?[0].string, let fCnt = row?[1].int.flatMap(UInt32.init(exactly:)), let session = try sessions.current(device) {
                        try sessions.set(device, FrameDeduplication.forgetting(quarantined: fCnt, id: id, session: session))
                    }
                }
                try sessions.write()
                if !ids.isEmpty { try bump("uplinks_requeued", by: Int64(ids.count)) }
                return ids
            }
            total += ids.count
            guard ids.count == step, let last = ids.last else { return total }
            after = last
        }
    }

    /// Quarantine rows with their reasons, newest first (for status and tests).
    /// `category` is the reason's stored name; `reason` the detail for people.
    public func quarantineRows(limit: Int = 100) throws -> [(uplinkID: Int64, category: String, reason: String, message: [UInt8])] {
        try locked {
            try connection.query(
                """
                SELECT q.uplink_id, q.category, q.reason, m.message, m.dictionary FROM quarantine q JOIN uplink_messages m ON m.uplink_id = q.uplink_id
                ORDER BY q.id DESC LIMIT ?
                """,
                [.integer(Int64(limit))]
            ).map { (uplinkID: $0[0].int ?? 0, category: $0[1].string ?? "", reason: $0[2].string ?? "",
                     message: try rawCompression.message($0[3].bytes ?? [], dictionary: $0[4].int, on: connection)) }
        }
    }
}
