import Readings

/// The quarantine: uplinks that could not be used, with the reason, kept
/// with their raw bytes until `citygate requeue` decodes them again.
extension GatewayStore {
    /// The detail kept with a quarantined uplink, at most: it quotes input
    /// (a topic, a device id, a field), and the raw bytes are kept anyway.
    static let maxDetailBytes = 512

    /// Inside the processing transaction: one quarantine row.
    func insertQuarantine(_ id: Int64, device: DeviceID?, reason: QuarantineReason, detail: String, now: EpochMillis) throws {
        try connection.run(
            "INSERT INTO quarantine (uplink_id, device, category, reason, first_seen_ms, last_seen_ms) VALUES (?, ?, ?, ?, ?, ?)",
            [.integer(id), .optional(device), .text(reason.rawValue),
             .text(BoundedText.prefix(detail, maxBytes: Self.maxDetailBytes)), .integer(now), .integer(now)])
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
                for id in ids {
                    try connection.run("DELETE FROM quarantine WHERE uplink_id = ?", [.integer(id)])
                    try connection.run("UPDATE uplinks SET state = 0, frame_key = NULL WHERE id = ?", [.integer(id)])
                }
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
                SELECT q.uplink_id, q.category, q.reason, m.message FROM quarantine q JOIN uplink_messages m ON m.uplink_id = q.uplink_id
                ORDER BY q.id DESC LIMIT ?
                """,
                [.integer(Int64(limit))]
            ).map { (uplinkID: $0[0].int ?? 0, category: $0[1].string ?? "", reason: $0[2].string ?? "", message: $0[3].bytes ?? []) }
        }
    }
}
