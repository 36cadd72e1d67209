import Readings

extension Schema {
    /// Migration 15: the redelivery hint (`uplinks.message_hash`) is
    /// `MessageHash` instead of FNV-1a. Only the rows a redelivery can still
    /// be checked against need the new hash: the uplink each packet
    /// identifier last named (`recent_packets`, at most 65,535 rows). Each is
    /// hashed again from its stored bytes (decompressed when stored
    /// compressed). A row whose bytes were pruned (the size bound) or do not
    /// decode keeps its old hash and so matches nothing: were its message
    /// resent, it would be stored again, and its frame counter or payload
    /// fingerprint (still FNV-1a) finds the copy. Older rows are never
    /// compared, so they keep FNV-1a.
    ///
    /// The decoder guard names messages by this hash too: one that stopped
    /// the gateway just before the upgrade gets one more try.
    static func rehashRecentMessages(_ connection: SQLiteConnection) throws {
        let compression = RawMessageCompression()
        let rows = try connection.query(
            """
            SELECT u.id, u.topic, m.message, m.dictionary FROM recent_packets r JOIN uplinks u ON u.id = r.uplink_id
            JOIN uplink_messages m ON m.uplink_id = u.id WHERE length(m.message) > 0
            """)
        for row in rows {
            guard let id = row[0].int, let topic = row[1].string, let stored = row[2].bytes,
                  let message = try? compression.message(stored, dictionary: row[3].int, on: connection) else { continue }
            try connection.run("UPDATE uplinks SET message_hash = ? WHERE id = ?",
                               [.integer(MessageHash.of(topic: topic, message: message)), .integer(id)])
        }
    }
}
