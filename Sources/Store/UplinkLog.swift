import Readings

/// What the ingest commit made of one MQTT message.
public enum IngestResult: Sendable, Equatable {
    /// Committed as a new raw uplink with this id.
    case stored(Int64)
    /// The same topic and bytes were committed before (a QoS 1 redelivery).
    case duplicate(of: Int64)
}

/// What became of a raw uplink. Every row ends in one of the final states.
public enum UplinkState: Int64, Sendable {
    case pending = 0
    case decoded = 1
    case quarantined = 2
    case duplicateFrame = 3
    case event = 4
    case ignored = 5
}

/// The uplink log: every MQTT message as it came (`uplinks` and
/// `uplink_messages`), committed before its acknowledgement leaves, and the
/// redelivery check on (topic, bytes).
extension GatewayStore {
    /// Commits one MQTT message before its acknowledgement can leave. A message
    /// whose topic and bytes equal one committed within the duplicate window
    /// is a redelivery: nothing is written but a counter.
    public func commitUplink(topic: String, message: [UInt8], receivedAt: EpochMillis) throws -> IngestResult {
        try transaction { try insertUplink(topic: topic, message: message, receivedAt: receivedAt) }
    }

    /// A read burst of MQTT messages in one transaction (one WAL commit
    /// instead of one per message), in order, each with the same redelivery
    /// check as `commitUplink` (a copy inside the burst is a duplicate too).
    /// All or nothing: an error leaves none of them committed.
    public func commitUplinks(_ messages: [(topic: String, message: [UInt8], receivedAt: EpochMillis)]) throws -> [IngestResult] {
        try transaction {
            try messages.map { try insertUplink(topic: $0.topic, message: $0.message, receivedAt: $0.receivedAt) }
        }
    }

    /// Inside the writer's transaction: the redelivery check, then the uplink and its bytes.
    private func insertUplink(topic: String, message: [UInt8], receivedAt: EpochMillis) throws -> IngestResult {
        let hash = Self.messageHash(topic: topic, message: message)
        let candidates = try connection.query(
            """
            SELECT u.id, u.topic, m.message FROM uplinks u LEFT JOIN uplink_messages m ON m.uplink_id = u.id
            WHERE u.message_hash = ? AND u.received_ms > ?
            """,
            [.integer(hash), .integer(receivedAt - frameDuplicateWindow)])
        // A row whose raw bytes were pruned (size bound) matches on topic and hash alone.
        for row in candidates where row[1].string == topic && ((row[2].bytes ?? []) == message || (row[2].bytes ?? []).isEmpty) {
            try bump("uplinks_duplicate")
            return .duplicate(of: row[0].int ?? 0)
        }
        try connection.run(
            "INSERT INTO uplinks (received_ms, topic, message_hash) VALUES (?, ?, ?)",
            [.integer(receivedAt), .text(topic), .integer(hash)])
        let id = connection.lastInsertRowID
        try connection.run("INSERT INTO uplink_messages (uplink_id, message) VALUES (?, ?)", [.integer(id), .blob(message)])
        return .stored(id)
    }

    /// FNV-1a over topic, a zero byte and the message. Only a hint: a match
    /// is confirmed by comparing the stored bytes.
    static func messageHash(topic: String, message: [UInt8]) -> Int64 {
        var hash = FNV1a()
        hash.add(topic.utf8)
        hash.add(CollectionOfOne(0))
        hash.add(message)
        return hash.value
    }

    /// Committed uplinks not processed yet, oldest first; with `after`, only
    /// those with a higher id (the batch after one still being recorded).
    public func pendingUplinks(after lastID: Int64 = 0, limit: Int) throws -> [RawUplink] {
        try locked {
            try connection.query(
                """
                SELECT u.id, u.received_ms, u.topic, m.message FROM uplinks u JOIN uplink_messages m ON m.uplink_id = u.id
                WHERE u.state = 0 AND u.id > ? ORDER BY u.id LIMIT ?
                """,
                [.integer(lastID), .integer(Int64(limit))]
            ).map { RawUplink(id: $0[0].int ?? 0, receivedAt: $0[1].int ?? 0, topic: $0[2].string ?? "", message: $0[3].bytes ?? []) }
        }
    }

    /// Records the envelope facts of a processed uplink on its row (and what
    /// a codec rule made of a device no registry lists).
    func setFacts(_ id: Int64, _ facts: FrameFacts, state: UplinkState, frameKey: String?) throws {
        if let kind = facts.ruleKind {
            try connection.run(
                """
                INSERT INTO rule_devices (device, kind, zone) VALUES (?, ?, ?)
                ON CONFLICT(device) DO UPDATE SET kind = excluded.kind, zone = excluded.zone
                WHERE rule_devices.kind IS NOT excluded.kind OR rule_devices.zone IS NOT excluded.zone
                """, [.text(facts.device), .text(kind.rawValue), .optional(facts.ruleZone)])
        }
        try connection.run(
            "UPDATE uplinks SET state = ?, envelope = ?, device = ?, fcnt = ?, fport = ?, network_ms = ?, frame_key = ? WHERE id = ?",
            [.integer(state.rawValue), .text(facts.envelope), .text(facts.device),
             facts.fCnt.map { .integer(Int64($0)) } ?? .null, facts.fPort.map { .integer(Int64($0)) } ?? .null,
             facts.networkTime.map { .integer($0) } ?? .null, .optional(frameKey), .integer(id)])
    }
}
