import Foundation
import Readings

/// The gateway's SQLite file: the source of truth from the raw uplink to the
/// hub's acknowledgement.
///
/// One writer connection, serialised by a lock, shared by the MQTT callback
/// thread (which commits raw uplinks) and the pipeline tasks. WAL mode, so
/// `citygate status` can read while the daemon writes.
///
/// Durability with `synchronous=NORMAL` (the default): a committed uplink
/// survives a crash of the process (it is in the WAL file); after a power
/// loss the last transactions before the loss may roll back. With `FULL`
/// every commit is fsynced and survives power loss too, at a higher cost
/// per uplink.
public final class GatewayStore: @unchecked Sendable {
    public enum Synchronous: String, Sendable, CaseIterable { case normal = "NORMAL", full = "FULL" }

    public let path: String
    let connection: SQLiteConnection
    private let lock = NSLock()

    /// The size bound in pages (0 = none); see `apply(_:)`.
    var boundPages: Int64 {
        get { boundPagesStorage.withLock { $0 } }
        set { boundPagesStorage.withLock { $0 = newValue } }
    }
    private let boundPagesStorage = LockedValue<Int64>(0)
    private let checkpointConnection = LockedValue<SQLiteConnection?>(nil)

    /// Deduplication rules (see `DeduplicationPolicy`).
    public var deduplication = DeduplicationPolicy()
    var frameDuplicateWindow: Int64 { deduplication.frameWindowMillis }

    public init(path: String, synchronous: Synchronous = .normal) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        connection = try SQLiteConnection(path: path)
        try connection.execute("PRAGMA journal_mode=WAL")
        try connection.execute("PRAGMA synchronous=\(synchronous.rawValue)")
        try connection.execute("PRAGMA foreign_keys=ON")
        try connection.execute("PRAGMA busy_timeout=5000")
        // Checkpoints (which fsync) run on their own connection from the
        // storage guard, so ingest commits never pay for them; the writer
        // checkpoints itself only if the WAL grows past ~80 MB regardless.
        try connection.execute("PRAGMA wal_autocheckpoint=20000")
        // 4 MiB of page cache (SQLite's default is 2): processing inserts into
        // per-device indexes all over their pages; with 2 MiB dirty pages
        // spilt to the WAL mid-transaction and were read back from the file.
        // Measured with 500-uplink processing batches (Benchmarks/RESULTS.md):
        // 33 → 15 KB written and 27 → 20 KB read per uplink; 8 MiB read only
        // 9 KB but cost 6 MiB more peak RSS in the day-long outage test.
        try connection.execute("PRAGMA cache_size=-4096")
        try migrate()
    }

    /// Copies the WAL into the database without blocking the writer (a
    /// PASSIVE checkpoint on a second connection). Called about once a second.
    public func checkpoint() throws {
        let checkpointer = try checkpointConnection.withLock { existing -> SQLiteConnection in
            if let existing { return existing }
            let made = try SQLiteConnection(path: path)
            try made.execute("PRAGMA busy_timeout=1000")
            existing = made
            return made
        }
        try checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")
    }

    /// Opens an existing database read-only (for `citygate status` beside a
    /// running daemon).
    public init(readOnlyPath path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw SQLiteError(code: 14, message: "no database at \(path)", sql: nil)
        }
        connection = try SQLiteConnection(path: path, readOnly: true)
        try connection.execute("PRAGMA busy_timeout=5000")
    }

    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    // MARK: - Schema

    public var schemaVersion: Int {
        locked { Int((try? connection.scalar("PRAGMA user_version")) ?? 0) }
    }

    private func migrate() throws {
        let current = Int(try connection.scalar("PRAGMA user_version") ?? 0)
        guard current <= Schema.version else {
            throw SQLiteError(code: 1, message: "database schema version \(current) is newer than this citygate (\(Schema.version))", sql: nil)
        }
        for version in current..<Schema.version {
            try connection.transaction {
                try connection.execute(Schema.migrations[version])
                try connection.execute("PRAGMA user_version = \(version + 1)")
            }
        }
    }

    // MARK: - Ingest (the MQTT callback path: one small transaction)

    /// Commits one MQTT message before its acknowledgement can leave. A message
    /// whose topic and bytes equal one committed in the last day is a
    /// redelivery: nothing is written but a counter.
    public func commitUplink(topic: String, message: [UInt8], receivedAt: EpochMillis) throws -> IngestResult {
        try locked {
            try connection.transaction { try insertUplink(topic: topic, message: message, receivedAt: receivedAt) }
        }
    }

    /// A burst of MQTT messages in one transaction (one WAL commit instead of
    /// one per message), in order, each with the same redelivery check as
    /// `commitUplink` (a copy inside the burst is a duplicate too). All or
    /// nothing: an error leaves none of them committed.
    public func commitUplinks(_ messages: [(topic: String, message: [UInt8], receivedAt: EpochMillis)]) throws -> [IngestResult] {
        try locked {
            try connection.transaction {
                try messages.map { try insertUplink(topic: $0.topic, message: $0.message, receivedAt: $0.receivedAt) }
            }
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

    /// A 64-bit FNV-1a fingerprint of a payload (frames without a counter).
    public static func fingerprint(_ bytes: [UInt8]) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int64(bitPattern: hash)
    }

    /// FNV-1a, 64 bit, over topic, a zero byte and the message. Only a hint:
    /// a match is confirmed by comparing the stored bytes.
    static func messageHash(topic: String, message: [UInt8]) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in topic.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        hash = (hash ^ 0) &* 0x100_0000_01b3
        for byte in message { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int64(bitPattern: hash)
    }

    func bump(_ counter: String, by amount: Int64 = 1) throws {
        try connection.run(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            [.text(counter), .integer(amount)])
    }

    // MARK: - Processing (envelope, decode, readings)

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

    /// Records what the pipeline made of a batch of uplinks, in one
    /// transaction. A decoded frame whose (device, fCnt) was already seen in
    /// the device's current session is recorded as a duplicate frame instead.
    public func record(_ batch: [ProcessedUplink], now: EpochMillis) throws -> RecordSummary {
        try locked {
            try connection.transaction {
                var summary = RecordSummary()
                var sessions = DeviceSessionBatch(connection: connection)
                for item in batch {
                    try record(item, now: now, sessions: &sessions, into: &summary)
                }
                try sessions.write()
                return summary
            }
        }
    }

    private func record(_ item: ProcessedUplink, now: EpochMillis, sessions: inout DeviceSessionBatch, into summary: inout RecordSummary) throws {
        let id = item.uplinkID
        switch item.outcome {
        case let .decoded(facts, readings):
            let (frameKey, duplicate, gap) = try frameIdentity(id: id, facts: facts, now: now, sessions: &sessions)
            if gap > 0 { summary.frameGaps[id] = gap }
            if duplicate { return try recordDuplicateFrame(id, facts, into: &summary) }
            try setFacts(id, facts, state: .decoded, frameKey: frameKey)
            try insert(readings, uplinkID: id)
            summary.readingsStored += readings.count
        case let .quarantined(device, facts, category, reason):
            // A second network-server copy of a frame already quarantined (same
            // device and counter) is a duplicate, not a second quarantine row.
            // Only within the device's session: after a rejoin or battery swap
            // the same counter is a new frame (and a quarantined frame's
            // counter, from the network server, still marks the session).
            if let facts, let fCnt = facts.fCnt {
                let sessionStart = try session(of: facts.device, fCnt: fCnt, id: id, in: &sessions).start
                if try connection.scalar(
                    "SELECT count(*) FROM uplinks WHERE device = ? AND fcnt = ? AND state = ? AND id >= ? AND id <> ? AND received_ms > ?",
                    [.text(facts.device), .integer(Int64(fCnt)), .integer(UplinkState.quarantined.rawValue), .integer(sessionStart), .integer(id),
                     .integer(now - frameDuplicateWindow)]) ?? 0 > 0 {
                    return try recordDuplicateFrame(id, facts, into: &summary)
                }
                // Not for devices nobody registered: random DevEUIs must not grow the table.
                if category != ProcessedOutcome.unknownDevice { try sessions.note(facts.device, start: sessionStart, fCnt: fCnt) }
            }
            if let facts { try setFacts(id, facts, state: .quarantined, frameKey: nil) }
            else { try connection.run("UPDATE uplinks SET state = ?, device = ? WHERE id = ?", [.integer(UplinkState.quarantined.rawValue), device.map { .text($0) } ?? .null, .integer(id)]) }
            try connection.run(
                "INSERT INTO quarantine (uplink_id, device, category, reason, first_seen_ms, last_seen_ms) VALUES (?, ?, ?, ?, ?, ?)",
                [.integer(id), device.map { .text($0) } ?? .null, .text(category), .text(reason), .integer(now), .integer(now)])
            summary.quarantined += 1
        case let .event(type, device, readings):
            try insert(readings, uplinkID: id)
            summary.readingsStored += readings.count
            try connection.run("UPDATE uplinks SET state = ?, envelope = ?, device = ? WHERE id = ?",
                               [.integer(UplinkState.event.rawValue), .text("event:" + type), device.map { .text($0) } ?? .null, .integer(id)])
            if type == "join", let device {
                // A join starts a new session: frame counters begin again.
                sessions.startSession(device, at: id)
            }
            summary.events += 1
        case let .ignored(facts, _):
            try setFacts(id, facts, state: .ignored, frameKey: nil)
            summary.ignored += 1
        }
    }

    /// The frame's identity (its `frame_key`) and whether the store has seen
    /// it already: (device, fCnt) in the device's session, or for frames
    /// without a counter (device, payload fingerprint) within the uncounted window.
    private func frameIdentity(id: Int64, facts: FrameFacts, now: EpochMillis, sessions: inout DeviceSessionBatch) throws -> (key: String?, duplicate: Bool, gap: Int64) {
        if let fCnt = facts.fCnt {
            let key = "\(facts.device)/\(fCnt)"
            let check = try isDuplicateFrame(id: id, device: facts.device, fCnt: fCnt, frameKey: key, now: now, sessions: &sessions)
            return (key, check.duplicate, check.gap)
        }
        guard let fingerprint = facts.payloadFingerprint else { return (nil, false, 0) }
        let key = "\(facts.device)/#\(fingerprint)"
        let seen = try connection.scalar(
            "SELECT count(*) FROM uplinks WHERE frame_key = ? AND id <> ? AND received_ms > ?",
            [.text(key), .integer(id), .integer(now - deduplication.uncountedWindowMillis)]) ?? 0
        return (key, seen > 0, 0)
    }

    private func insert(_ readings: [ReadingRow], uplinkID id: Int64) throws {
        for row in readings {
            let r = row.reading
            try connection.run(
                """
                INSERT INTO readings (uplink_id, device, metric, channel, time_ms, value, window_ms, window_start_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [.integer(id), .text(r.device), .text(r.metric.name), r.channel.map { .integer(Int64($0)) } ?? .null,
                 .integer(r.time), .integer(r.value), .integer(row.windowLength), .integer(row.windowStart)])
        }
    }

    private func setFacts(_ id: Int64, _ facts: FrameFacts, state: UplinkState, frameKey: String?) throws {
        if let kind = facts.ruleKind {
            try connection.run(
                """
                INSERT INTO rule_devices (device, kind, zone) VALUES (?, ?, ?)
                ON CONFLICT(device) DO UPDATE SET kind = excluded.kind, zone = excluded.zone
                WHERE rule_devices.kind IS NOT excluded.kind OR rule_devices.zone IS NOT excluded.zone
                """, [.text(facts.device), .text(kind), facts.ruleZone.map { .text($0) } ?? .null])
        }
        try connection.run(
            "UPDATE uplinks SET state = ?, envelope = ?, device = ?, fcnt = ?, fport = ?, network_ms = ?, frame_key = ? WHERE id = ?",
            [.integer(state.rawValue), .text(facts.envelope), .text(facts.device),
             facts.fCnt.map { .integer(Int64($0)) } ?? .null, facts.fPort.map { .integer(Int64($0)) } ?? .null,
             facts.networkTime.map { .integer($0) } ?? .null, frameKey.map { .text($0) } ?? .null, .integer(id)])
    }

    /// A second copy of a frame already kept (decoded or quarantined): its facts, no readings, counted.
    private func recordDuplicateFrame(_ id: Int64, _ facts: FrameFacts, into summary: inout RecordSummary) throws {
        try setFacts(id, facts, state: .duplicateFrame, frameKey: nil)
        try bump("frames_duplicate")
        summary.duplicateFrames.append(id)
    }

    /// The first uplink id of the device's session as of frame `id`: the
    /// recorded one (the last join), or `id` itself when the counter restarts
    /// near zero after a higher value. Also the recorded start and last counter.
    private func session(of device: DeviceID, fCnt: UInt32, id: Int64, in sessions: inout DeviceSessionBatch) throws
        -> (start: Int64, recordedStart: Int64, lastFCnt: Int64?) {
        let recorded = try sessions.current(device)
        let lastFCnt = recorded?.lastFCnt
        let recordedStart = recorded?.start ?? 0
        if let lastFCnt, fCnt < deduplication.sessionResetBelow, Int64(fCnt) < lastFCnt { return (id, recordedStart, lastFCnt) }
        return (recordedStart, recordedStart, lastFCnt)
    }

    /// (device, fCnt) seen before in the device's current session and within
    /// the duplicate window. An fCnt that restarts near zero after a higher
    /// value starts a new session (battery swap, rejoin without a join event).
    /// Also returns the frames missing between the device's last counter in
    /// this session and this one (uplinks lost before they reached the gateway).
    private func isDuplicateFrame(id: Int64, device: DeviceID, fCnt: UInt32, frameKey: String, now: EpochMillis,
                                  sessions: inout DeviceSessionBatch) throws -> (duplicate: Bool, gap: Int64) {
        let (sessionStart, recordedStart, lastFCnt) = try session(of: device, fCnt: fCnt, id: id, in: &sessions)
        let seen = try connection.scalar(
            "SELECT count(*) FROM uplinks WHERE frame_key = ? AND id >= ? AND id <> ? AND received_ms > ?",
            [.text(frameKey), .integer(sessionStart), .integer(id), .integer(now - frameDuplicateWindow)]) ?? 0
        if seen > 0 { return (true, 0) }
        // Same session, counter ahead by more than one: frames in between never came.
        var gap: Int64 = 0
        if let lastFCnt, sessionStart == recordedStart, Int64(fCnt) > lastFCnt + 1 { gap = Int64(fCnt) - lastFCnt - 1 }
        try sessions.note(device, start: sessionStart, fCnt: fCnt)
        return (false, gap)
    }

    // MARK: - Aggregation

    /// Windows with readings not yet aggregated whose end plus grace is before `cutoff`.
    public func closedWindows(graceMillis: Int64, now: EpochMillis, limit: Int = 1000) throws -> [WindowGroup] {
        try locked {
            try connection.query(
                """
                SELECT DISTINCT device, metric, channel, window_ms, window_start_ms FROM readings
                WHERE aggregated = 0 AND window_start_ms + window_ms + ? <= ?
                ORDER BY window_start_ms LIMIT ?
                """,
                [.integer(graceMillis), .integer(now), .integer(Int64(limit))]
            ).map { WindowGroup(device: $0[0].string ?? "", metric: $0[1].string ?? "", channel: $0[2].int.map { Int($0) },
                                windowLength: $0[3].int ?? 0, windowStart: $0[4].int ?? 0) }
        }
    }

    /// Every reading of one window, in time order (then arrival order), as
    /// (time, value), and the highest reading id among them.
    public func windowValues(_ group: WindowGroup) throws -> (values: [(time: EpochMillis, value: Int64)], throughReadingID: Int64) {
        try locked {
            var through: Int64 = 0
            let values = try connection.query(
                """
                SELECT time_ms, value, id FROM readings
                WHERE device = ? AND metric = ? AND channel IS ? AND window_ms = ? AND window_start_ms = ? AND aggregated <> 2
                ORDER BY time_ms, id
                """,
                [.text(group.device), .text(group.metric), group.channel.map { .integer(Int64($0)) } ?? .null,
                 .integer(group.windowLength), .integer(group.windowStart)]
            ).map { row -> (time: EpochMillis, value: Int64) in
                through = max(through, row[2].int ?? 0)
                return (time: row[0].int ?? 0, value: row[1].int ?? 0)
            }
            return (values, through)
        }
    }

    /// Stores closed-window aggregates (a new revision if the window was
    /// aggregated before), marks their readings aggregated and queues them for
    /// every hub, in one transaction.
    public func saveAggregates(_ records: [AggregateRecord], hubs: [String], now: EpochMillis) throws {
        try locked {
            try connection.transaction {
                for record in records {
                    let g = record.group
                    let stats = record.statistics
                    let channel: SQLiteValue = g.channel.map { .integer(Int64($0)) } ?? .null
                    var members = SQLiteValue.null, total = SQLiteValue.null
                    if case let .zone(count, sum) = record.scope { members = .integer(count); total = .integer(sum) }
                    try connection.run(
                        """
                        INSERT INTO aggregates (window_key, source, kind, metric, channel, window_start_ms, window_ms,
                                                count, min, max, mean, last, last_time_ms, revision, updated_ms,
                                                scope, zone, members, total, rollup_pending)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT(window_key) DO UPDATE SET count = excluded.count, min = excluded.min, max = excluded.max,
                            mean = excluded.mean, last = excluded.last, last_time_ms = excluded.last_time_ms,
                            revision = aggregates.revision + 1, updated_ms = excluded.updated_ms,
                            zone = excluded.zone, members = excluded.members, total = excluded.total,
                            rollup_pending = excluded.rollup_pending
                        """,
                        [.text(record.windowKey), .text(g.device), .text(record.kind), .text(g.metric), channel,
                         .integer(g.windowStart), .integer(g.windowLength), .integer(stats.count), .integer(stats.min),
                         .integer(stats.max), .integer(stats.mean), .integer(stats.last), .integer(stats.lastTime), .integer(now),
                         .text(record.scope.storedName), record.zone.map { .text($0) } ?? .null, members, total,
                         .integer(record.scope == .device && record.zone != nil ? 1 : 0)])
                    let row = try connection.query("SELECT id, revision FROM aggregates WHERE window_key = ?", [.text(record.windowKey)]).first
                    let id = row?[0].int ?? 0, revision = row?[1].int ?? 1
                    for hub in hubs {
                        try connection.run(
                            """
                            INSERT INTO deliveries (hub, aggregate_id, state, revision, updated_ms) VALUES (?, ?, 0, ?, ?)
                            ON CONFLICT(hub, aggregate_id) DO UPDATE SET state = 0, revision = excluded.revision,
                                attempts = 0, last_error = NULL, updated_ms = excluded.updated_ms
                            """,
                            [.text(hub), .integer(id), .integer(revision), .integer(now)])
                    }
                    try connection.run(
                        """
                        UPDATE readings SET aggregated = 1
                        WHERE aggregated = 0 AND device = ? AND metric = ? AND channel IS ? AND window_ms = ? AND window_start_ms = ?
                          AND id <= ?
                        """,
                        [.text(g.device), .text(g.metric), channel, .integer(g.windowLength), .integer(g.windowStart),
                         .integer(record.throughReadingID)])
                }
            }
        }
    }

    // MARK: - Delivery ledger

    /// Aggregates pending for a hub, oldest window first.
    public func pendingDeliveries(hub: String, limit: Int) throws -> [PendingDelivery] {
        try locked {
            try connection.query(
                """
                SELECT a.id, d.revision, a.window_key, a.source, a.kind, a.metric, a.channel, a.window_start_ms, a.window_ms,
                       a.count, a.min, a.max, a.mean, a.last, a.last_time_ms, d.hub_ref, d.attempts,
                       a.scope, a.zone, a.members, a.total, d.state
                FROM deliveries d JOIN aggregates a ON a.id = d.aggregate_id
                WHERE d.hub = ? AND d.state IN (0, 1)
                ORDER BY a.window_start_ms, a.id LIMIT ?
                """,
                [.text(hub), .integer(Int64(limit))]
            ).map { row in
                let group = WindowGroup(device: row[3].string ?? "", metric: row[5].string ?? "", channel: row[6].int.map { Int($0) },
                                        windowLength: row[8].int ?? 0, windowStart: row[7].int ?? 0)
                let statistics = WindowStatistics(count: row[9].int ?? 0, min: row[10].int ?? 0, max: row[11].int ?? 0,
                                                  mean: row[12].int ?? 0, last: row[13].int ?? 0, lastTime: row[14].int ?? 0)
                let scope: AggregateScope = row[17].string == "zone" ? .zone(members: row[19].int ?? 0, total: row[20].int ?? 0) : .device
                let record = AggregateRecord(windowKey: row[2].string ?? "", group: group, kind: row[4].string ?? "", statistics: statistics,
                                             scope: scope, zone: row[18].string)
                return PendingDelivery(aggregateID: row[0].int ?? 0, revision: row[1].int ?? 1, record: record,
                                       hubRef: row[15].string, attempts: row[16].int ?? 0,
                                       wasInFlight: row[21].int == DeliveryState.inFlight.rawValue)
            }
        }
    }

    /// Marks a batch in flight before it is sent, so a crash mid-send is visible.
    public func markInFlight(hub: String, _ ids: [Int64], now: EpochMillis) throws {
        try updateDeliveries(hub: hub, ids.map { ($0, nil) }, state: .inFlight, now: now, countAttempt: true)
    }

    /// The hub acknowledged these revisions; `ref` is its id or self-link.
    /// A newer revision queued meanwhile stays pending.
    public func markDelivered(hub: String, _ delivered: [(id: Int64, revision: Int64, ref: String?)], now: EpochMillis) throws {
        try locked {
            try connection.transaction {
                for item in delivered {
                    try connection.run(
                        """
                        UPDATE deliveries SET state = CASE WHEN revision = ? THEN 2 ELSE state END,
                            hub_ref = coalesce(?, hub_ref), last_error = NULL, updated_ms = ?
                        WHERE hub = ? AND aggregate_id = ?
                        """,
                        [.integer(item.revision), item.ref.map { .text($0) } ?? .null, .integer(now), .text(hub), .integer(item.id)])
                }
            }
        }
    }

    /// A transient failure: back to pending with the error kept.
    public func markRetry(hub: String, _ ids: [Int64], error: String, now: EpochMillis) throws {
        try updateDeliveries(hub: hub, ids.map { ($0, error) }, state: .pending, now: now, countAttempt: false)
    }

    /// Dead-lettered deliveries of a hub back to pending (`citygate redeliver`).
    public func redeliverDeadLettered(hub: String, now: EpochMillis) throws -> Int {
        try locked {
            try connection.run(
                "UPDATE deliveries SET state = 0, attempts = 0, updated_ms = ? WHERE hub = ? AND state = 3",
                [.integer(now), .text(hub)])
        }
    }

    /// Sent without an answer: they stay in flight, to be reconciled with the hub.
    public func markUncertain(hub: String, _ ids: [Int64], error: String, now: EpochMillis) throws {
        try updateDeliveries(hub: hub, ids.map { ($0, error) }, state: .inFlight, now: now, countAttempt: false)
    }

    /// The hub refused these for good: dead-lettered with the hub's answer.
    public func markDeadLettered(hub: String, _ items: [(id: Int64, error: String)], now: EpochMillis) throws {
        try updateDeliveries(hub: hub, items.map { ($0.id, $0.error) }, state: .deadLettered, now: now, countAttempt: false)
    }

    private func updateDeliveries(hub: String, _ items: [(Int64, String?)], state: DeliveryState, now: EpochMillis, countAttempt: Bool) throws {
        try locked {
            try connection.transaction {
                for (id, error) in items {
                    try connection.run(
                        """
                        UPDATE deliveries SET state = ?, attempts = attempts + ?, last_error = coalesce(?, last_error), updated_ms = ?
                        WHERE hub = ? AND aggregate_id = ? AND state <> 2
                        """,
                        [.integer(state.rawValue), .integer(countAttempt ? 1 : 0), error.map { .text($0) } ?? .null,
                         .integer(now), .text(hub), .integer(id)])
                }
            }
        }
    }

    // MARK: - Hub references (SensorThings Things and Datastreams, ...)

    public func hubRef(hub: String, key: String) throws -> String? {
        try locked { try connection.query("SELECT ref FROM hub_refs WHERE hub = ? AND key = ?", [.text(hub), .text(key)]).first?[0].string }
    }

    public func setHubRef(hub: String, key: String, ref: String) throws {
        try locked {
            _ = try connection.run("INSERT OR REPLACE INTO hub_refs (hub, key, ref) VALUES (?, ?, ?)", [.text(hub), .text(key), .text(ref)])
        }
    }

    // MARK: - Requeue

    /// Moves quarantined uplinks (optionally only one reason or device) back to
    /// pending, so the processing stage decodes them again with the current
    /// codecs and registry. Their quarantine rows go; one that fails again gets
    /// a new row. One short transaction: a running daemon's intake waits for
    /// it (SQLite's busy timeout), then its processing loop picks the rows up.
    public func requeueQuarantined(reason: String?, device: DeviceID?) throws -> Int {
        try locked {
            try connection.transaction {
                let ids = try connection.query(
                    "SELECT DISTINCT uplink_id FROM quarantine WHERE (?1 IS NULL OR category = ?1) AND (?2 IS NULL OR device = ?2)",
                    [reason.map { .text($0) } ?? .null, device.map { .text($0) } ?? .null]
                ).compactMap { $0[0].int }
                for id in ids {
                    try connection.run("DELETE FROM quarantine WHERE uplink_id = ?", [.integer(id)])
                    try connection.run("UPDATE uplinks SET state = 0, frame_key = NULL WHERE id = ?", [.integer(id)])
                }
                if !ids.isEmpty { try bump("uplinks_requeued", by: Int64(ids.count)) }
                return ids.count
            }
        }
    }

    // MARK: - Figures

    /// Takes the writer's lock and runs a trivial query: returns only when
    /// the single writer connection is free (the watchdog's check that the
    /// store is not stuck).
    public func probeWriter() throws {
        try locked { _ = try connection.scalar("SELECT 1") }
    }

    /// Fault injection for the watchdog test only: takes the writer's lock
    /// and never gives it back, as a writer stuck in I/O would.
    public func stallWriterForever() {
        locked { while true { sleep(3600) } }
    }

    /// Per device: uplinks committed and when the last one arrived.
    public func deviceActivity() throws -> [DeviceID: (uplinks: Int64, lastSeen: EpochMillis)] {
        try locked {
            var result: [DeviceID: (uplinks: Int64, lastSeen: EpochMillis)] = [:]
            for row in try connection.query("SELECT device, count(*), max(received_ms) FROM uplinks WHERE device IS NOT NULL GROUP BY device") {
                if let device = row[0].string { result[device] = (row[1].int ?? 0, row[2].int ?? 0) }
            }
            return result
        }
    }

    public func statistics() throws -> StoreStatistics {
        try locked {
            var s = StoreStatistics()
            let counters = Dictionary(try connection.query("SELECT name, value FROM counters").map { ($0[0].string ?? "", $0[1].int ?? 0) }, uniquingKeysWith: +)
            // Every distinct uplink committed, quarantined ones included, duplicates
            // not; rows removed by retention still count.
            s.uplinksStored = (try connection.scalar("SELECT count(*) FROM uplinks WHERE state <> ?", [.integer(UplinkState.duplicateFrame.rawValue)]) ?? 0)
                + (counters["pruned_stored_uplinks"] ?? 0)
            s.uplinksPending = try connection.scalar("SELECT count(*) FROM uplinks WHERE state = 0") ?? 0
            s.readingsStored = try connection.scalar("SELECT count(*) FROM readings") ?? 0
            s.duplicates = (counters["uplinks_duplicate"] ?? 0) + (counters["frames_duplicate"] ?? 0)
            s.quarantined = try connection.scalar("SELECT count(*) FROM quarantine") ?? 0
            s.aggregates = try connection.scalar("SELECT count(*) FROM aggregates") ?? 0
            s.readingsTooLate = counters["readings_too_late"] ?? 0
            for row in try connection.query(
                """
                SELECT d.hub, sum(d.state IN (0, 1)), sum(d.state = 2), sum(d.state = 3),
                       min(CASE WHEN d.state IN (0, 1) THEN a.window_start_ms END)
                FROM deliveries d JOIN aggregates a ON a.id = d.aggregate_id GROUP BY d.hub
                """) {
                s.hubs[row[0].string ?? ""] = .init(backlog: row[1].int ?? 0, delivered: row[2].int ?? 0,
                                                   deadLettered: row[3].int ?? 0, oldestUndelivered: row[4].int)
            }
            return s
        }
    }

    /// Quarantine rows with their reasons, newest first (for status and tests).
    public func quarantineRows(limit: Int = 100) throws -> [(uplinkID: Int64, category: String, reason: String, message: [UInt8])] {
        try locked {
            try connection.query(
                "SELECT q.uplink_id, q.category, q.reason, m.message FROM quarantine q JOIN uplink_messages m ON m.uplink_id = q.uplink_id ORDER BY q.id DESC LIMIT ?",
                [.integer(Int64(limit))]
            ).map { (uplinkID: $0[0].int ?? 0, category: $0[1].string ?? "", reason: $0[2].string ?? "", message: $0[3].bytes ?? []) }
        }
    }
}
