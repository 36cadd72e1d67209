import Readings

/// What the ingest commit made of one MQTT message.
public enum IngestResult: Sendable, Equatable {
    /// Committed as a new raw uplink with this id.
    case stored(Int64)
    /// The broker sent this message before (a QoS 1 redelivery): same
    /// topic, bytes and packet identifier, committed on an earlier connection.
    case duplicate(of: Int64)
}

/// One MQTT message as ingest hands it to the store.
public struct ArrivedMessage: Sendable {
    public let topic: String
    public let message: [UInt8]
    public var receivedAt: EpochMillis
    /// How a broker could have sent it before (QoS ≥ 1); nil for QoS 0,
    /// which is never sent again.
    public var delivery: BrokerDelivery?
    /// Set when the message was larger than the payload cap: `message` holds
    /// only its first bytes, and it is quarantined as it is committed.
    public var oversized: OversizedMessage?

    /// The hash of topic and bytes (`GatewayStore.messageHash`), made once:
    /// the redelivery check and the decoder guard both use it.
    public let messageHash: Int64

    public init(topic: String, message: [UInt8], receivedAt: EpochMillis, delivery: BrokerDelivery? = nil, oversized: OversizedMessage? = nil) {
        self.topic = topic
        self.message = message
        self.receivedAt = receivedAt
        self.delivery = delivery
        self.oversized = oversized
        messageHash = GatewayStore.messageHash(topic: topic, message: message)
    }
}

/// What is kept of a message over `[mqtt] max_payload_bytes`: its length and
/// SHA-256 (to recognise it again, or match it with the sender's copy) beside
/// its first bytes.
public struct OversizedMessage: Sendable, Equatable {
    public var length: Int
    public var limit: Int
    public var sha256Hex: String
    /// How many leading bytes are kept.
    public static let keptBytes = 4096

    public init(length: Int, limit: Int, sha256Hex: String) {
        self.length = length
        self.limit = limit
        self.sha256Hex = sha256Hex
    }

    var detail: String {
        "\(length) bytes over the \(limit)-byte payload limit; sha256 \(sha256Hex); the first \(Self.keptBytes) bytes kept"
    }
}

/// A QoS 1 message's packet identifier and when the connection that brought
/// it was made. A broker resends a message it has no PUBACK for only on a
/// later connection of the session, with the same identifier and DUP set
/// (MQTT 3.1.1 §4.4; mosquitto's behaviour is checked in
/// BrokerRedeliveryTests). So a redelivery is the same topic, bytes and
/// identifier committed before this connection; the same bytes with another
/// identifier, or on the same connection, are a new message (a counterless
/// device that reports the same value again).
public struct BrokerDelivery: Sendable, Equatable {
    public var packetID: Int
    public var connectedAt: EpochMillis

    public init(packetID: Int, connectedAt: EpochMillis) {
        self.packetID = packetID
        self.connectedAt = connectedAt
    }
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
/// redelivery check on (topic, bytes, packet identifier).
extension GatewayStore {
    /// Commits one MQTT message before its acknowledgement can leave. A
    /// redelivery (see `BrokerDelivery`) within the duplicate window is not
    /// written again, only counted.
    public func commitUplink(topic: String, message: [UInt8], receivedAt: EpochMillis, delivery: BrokerDelivery? = nil) throws -> IngestResult {
        try commitUplinks([ArrivedMessage(topic: topic, message: message, receivedAt: receivedAt, delivery: delivery)])[0]
    }

    /// A read burst of MQTT messages in one transaction (one WAL commit
    /// instead of one per message), in order, each with the same redelivery
    /// check as `commitUplink` (a copy inside the burst is a duplicate too).
    /// All or nothing: an error leaves none of them committed.
    public func commitUplinks(_ messages: [ArrivedMessage]) throws -> [IngestResult] {
        defer { makeRawDictionaryIfDue(now: messages.last?.receivedAt ?? 0) }
        return try transaction {
            var rows = UplinkRows(expected: messages.count)
            let results = try messages.map { try insertUplink($0, into: &rows) }
            try rows.flush(on: connection)
            return results
        }
    }

    /// A read burst committed and recorded in one transaction: each message
    /// as `commitUplinks` stores it, and for each one stored that has an
    /// outcome (decoded in the burst, before the commit), that outcome as
    /// `record` keeps it. A message without an outcome stays pending for the
    /// processing service. One transaction instead of two per uplink: no row
    /// written pending and updated later, no read-back (the figures are in
    /// Benchmarks/RESULTS.md, issue 17). All or nothing.
    public func commitAndRecord(_ messages: [ArrivedMessage], outcomes: [ProcessedOutcome?], now: EpochMillis)
        throws -> (results: [IngestResult], summary: RecordSummary) {
        precondition(messages.count == outcomes.count, "one outcome (or nil) per message")
        defer { makeRawDictionaryIfDue(now: now) }
        return try transaction {
            var recorded: [ProcessedUplink] = []
            var inserted: [Int64: EpochMillis] = [:]
            recorded.reserveCapacity(messages.count)
            var rows = UplinkRows(expected: messages.count)
            let results = try zip(messages, outcomes).map { message, outcome in
                let result = try insertUplink(message, outcome: message.oversized == nil ? outcome : nil, into: &rows)
                if case let .stored(id) = result, message.oversized == nil, let outcome {
                    recorded.append(ProcessedUplink(uplinkID: id, outcome: outcome))
                    inserted[id] = message.receivedAt
                }
                return result
            }
            // Recording updates and refers to these rows: they go in first.
            try rows.flush(on: connection)
            return (results, try recordInTransaction(recorded, now: now, inserted: inserted))
        }
    }

    /// Inside the writer's transaction: the redelivery check, then the uplink
    /// and its bytes, staged in `rows` (written when a chunk fills, and by
    /// the caller's `rows.flush` before anything reads them). With the
    /// outcome decoded in the burst, the row is written as processing leaves
    /// it (`UplinkRowFacts`) rather than pending and updated a moment later:
    /// one statement fewer per uplink, and no `uplinks_pending` entry added
    /// and removed. `record` changes the row only for a duplicate frame.
    func insertUplink(_ arrived: ArrivedMessage, outcome: ProcessedOutcome? = nil, into rows: inout UplinkRows) throws -> IngestResult {
        // Only an identifier whose row may be an earlier connection's is looked up (`StoredRowCache`).
        if let delivery = arrived.delivery, try rowCache.mayBeRedelivery(delivery, on: connection, beforeReading: { try rows.flush(on: connection) }) {
            // Among the rows written so far: the burst's own too.
            try rows.flush(on: connection)
            if let original = try earlierCopy(of: arrived, delivery) {
                try bump("uplinks_duplicate")
                return .duplicate(of: original)
            }
        }
        // An oversized message is quarantined as it is committed: its bytes
        // are not whole, nothing could decode them.
        let facts = outcome.map(UplinkRowFacts.init) ?? UplinkRowFacts(state: arrived.oversized == nil ? .pending : .quarantined)
        let id = try rows.nextID(on: connection)
        let stored = rawCompression.stored(arrived.message)
        try rows.stage(id: id, arrived: arrived, facts: facts, stored: stored, on: connection)
        if let delivery = arrived.delivery { rowCache.stageStored(delivery) }
        if let oversized = arrived.oversized {
            try rows.flush(on: connection)
            try insertQuarantine(id, device: nil, reason: .oversized, detail: oversized.detail, now: arrived.receivedAt)
        }
        return .stored(id)
    }

    /// The uplink this message is a redelivery of (see `BrokerDelivery`):
    /// the last one stored under its packet identifier, if that came with
    /// the same topic and bytes, within the duplicate window, before this
    /// connection.
    private func earlierCopy(of arrived: ArrivedMessage, _ delivery: BrokerDelivery) throws -> Int64? {
        guard let row = try connection.query(
                  """
                  SELECT u.id, u.topic, u.message_hash, u.received_ms, m.message, m.dictionary FROM recent_packets r JOIN uplinks u ON u.id = r.uplink_id
                  LEFT JOIN uplink_messages m ON m.uplink_id = u.id WHERE r.packet_id = ?
                  """, [.integer(Int64(delivery.packetID))]).first,
              row[2].int == arrived.messageHash, row[1].string == arrived.topic,
              let received = row[3].int, received > arrived.receivedAt - frameDuplicateWindow, received < delivery.connectedAt,
              // A row whose raw bytes were pruned (size bound) matches on topic, hash and packet id.
              // Stored bytes that no longer decode match nothing: the message is stored
              // again (its frame counter still finds the copy), and ingest goes on.
              row[4].bytes.map({ $0.isEmpty || (try? rawCompression.message($0, dictionary: row[5].int, on: connection)) == arrived.message }) ?? true
        else { return nil }
        return row[0].int ?? 0
    }

    /// `MessageHash` over topic and message. Only a hint: a match is
    /// confirmed by comparing the stored bytes (or, when they were pruned, it is all there is).
    public static func messageHash(topic: String, message: [UInt8]) -> Int64 {
        MessageHash.of(topic: topic, message: message)
    }

    /// Committed uplinks not processed yet, oldest first; with `after`, only
    /// those with a higher id (the batch after one still being recorded).
    public func pendingUplinks(after lastID: Int64 = 0, limit: Int) throws -> [RawUplink] {
        try locked {
            try connection.query(
                """
                SELECT u.id, u.received_ms, u.topic, m.message, m.dictionary FROM uplinks u JOIN uplink_messages m ON m.uplink_id = u.id
                WHERE u.state = 0 AND u.id > ? ORDER BY u.id LIMIT ?
                """,
                [.integer(lastID), .integer(Int64(limit))]
            ).map { RawUplink(id: $0[0].int ?? 0, receivedAt: $0[1].int ?? 0, topic: $0[2].string ?? "",
                              message: try rawCompression.message($0[3].bytes ?? [], dictionary: $0[4].int, on: connection)) }
        }
    }

    /// Records what processing made of an uplink on its row.
    func setFacts(_ id: Int64, _ facts: UplinkRowFacts) throws {
        try connection.run("UPDATE uplinks SET state = ?, envelope = ?, device = ?, fcnt = ?, fport = ?, network_ms = ? WHERE id = ?",
                           facts.columns + [.integer(id)])
    }

    /// A device a codec rule made (no registry lists it): its kind and roll-up group.
    func noteRuleDevice(_ facts: FrameFacts) throws {
        guard let kind = facts.ruleKind else { return }
        try connection.run(
            """
            INSERT INTO rule_devices (device, kind, zone) VALUES (?, ?, ?)
            ON CONFLICT(device) DO UPDATE SET kind = excluded.kind, zone = excluded.zone
            WHERE rule_devices.kind IS NOT excluded.kind OR rule_devices.zone IS NOT excluded.zone
            """, [.text(facts.device), .text(kind.rawValue), .optional(facts.ruleZone)])
    }
}
