import FoundationEssentials
import Readings

/// How much the store may keep. What goes first, in order, when retention or
/// the size bound asks for space:
///
/// 1. the raw bytes of decoded uplinks (and duplicates, events, MAC-only
///    frames) whose readings are all aggregated: the uplink row stays, with
///    its metadata, as the parent of its readings;
/// 2. readings whose window is aggregated and delivered to every hub (an
///    uplink's readings are one row: they go together, once each may);
/// 3. uplink rows with no raw bytes and no readings left, once older than
///    the duplicate window (they are how a redelivery is recognised);
/// 4. aggregates delivered to every hub, with their ledger rows.
///
/// 5. quarantined uplinks last seen before `quarantineRetentionMillis`
///    (under pressure: the oldest, whatever their age), with their bytes.
///
/// Never pruned: uplinks not yet decoded, readings not yet aggregated,
/// aggregates not yet delivered or dead-lettered. When only those are left and the bound is
/// reached, the gateway pauses intake (see `StorageGuard` in Gateway).
public struct StoreBounds: Sendable, Equatable {
    /// The database may not grow beyond this (SQLite `max_page_count`); nil = no bound.
    public var maxSizeBytes: Int64?
    /// Raw bytes of processed uplinks are kept this long.
    public var rawRetentionMillis: Int64 = 30 * 86_400_000
    /// Readings (and delivered aggregates) are kept this long.
    public var readingRetentionMillis: Int64 = 365 * 86_400_000
    /// How long after its end a window may still be revised (grace plus
    /// lateness): its readings are never pruned before, not even under
    /// pressure, since a late reading re-opens the window and the revision
    /// is computed from every reading of it (from a pruned rest, it would
    /// overwrite the hub's right value under the same id).
    public var revisableMillis: Int64 = 0
    /// Quarantined uplinks (rows and bytes) are kept this long after they
    /// were last seen, for `requeue`.
    public var quarantineRetentionMillis: Int64 = 30 * 86_400_000

    public init(maxSizeBytes: Int64? = nil, rawRetentionMillis: Int64 = 30 * 86_400_000, readingRetentionMillis: Int64 = 365 * 86_400_000,
                revisableMillis: Int64 = 0, quarantineRetentionMillis: Int64 = 30 * 86_400_000) {
        self.maxSizeBytes = maxSizeBytes
        self.rawRetentionMillis = rawRetentionMillis
        self.readingRetentionMillis = readingRetentionMillis
        self.revisableMillis = revisableMillis
        self.quarantineRetentionMillis = quarantineRetentionMillis
    }
}

/// How full the database is.
public struct StoreUsage: Sendable, Equatable {
    public var pageSize: Int64
    public var pages: Int64
    public var freePages: Int64
    public var maxPages: Int64
    /// Bytes the gateway keeps beside the database that count against the
    /// same bound (the file output's day files).
    public var externalBytes: Int64 = 0
    /// SQLite's own limit (`max_page_count`): the bound plus its reserve.
    public var limitPages: Int64 = 0

    public var fileBytes: Int64 { pages * pageSize }
    public var usedBytes: Int64 { (pages - freePages) * pageSize }
    /// Used bytes (database and external) over the bound (0 when unbounded).
    public var fractionOfBound: Double {
        maxPages > 0 ? (Double(pages - freePages) + Double(externalBytes) / Double(max(pageSize, 1))) / Double(maxPages) : 0
    }
}

/// What one pruning pass removed.
public struct PruneSummary: Sendable, Equatable {
    public var rawBytesStripped = 0
    public var readingsDeleted = 0
    public var uplinksDeleted = 0
    public var aggregatesDeleted = 0
    public var quarantinedDeleted = 0
    public var total: Int { rawBytesStripped + readingsDeleted + uplinksDeleted + aggregatesDeleted + quarantinedDeleted }
    public init() {}
}

extension GatewayStore {
    /// Applies the size bound. SQLite's own limit (`max_page_count`, beyond
    /// which it answers SQLITE_FULL) is set a reserve above the bound (5 %,
    /// at least 1 MiB): the gateway pauses intake at the bound, and the
    /// reserve lets the uplinks already committed be decoded and pruned.
    /// Also sets how long a closed window stays revisable (`revisableMillis`),
    /// which decides whether a reading is too late as it is recorded.
    public func apply(_ bounds: StoreBounds) throws {
        revisableStorage.store(bounds.revisableMillis, ordering: .relaxed)
        guard let maxSize = bounds.maxSizeBytes else { return }
        try locked {
            let pageSize = try connection.scalar("PRAGMA page_size") ?? 4096
            let pages = max(16, maxSize / pageSize)
            boundPagesStorage.withLock { $0 = pages }
            let reserve = max((1 << 20) / pageSize, pages / 20)
            _ = try connection.query("PRAGMA max_page_count = \(pages + reserve)")
        }
    }

    /// How full the database is; `maxPages` is the configured bound (0 = none).
    public func usage() throws -> StoreUsage {
        try locked {
            StoreUsage(pageSize: try connection.scalar("PRAGMA page_size") ?? 4096,
                       pages: try connection.scalar("PRAGMA page_count") ?? 0,
                       freePages: try connection.scalar("PRAGMA freelist_count") ?? 0,
                       maxPages: boundPages,
                       limitPages: try connection.scalar("PRAGMA max_page_count") ?? 0)
        }
    }

    /// One bounded pass (at most `batch` rows per step, so intake waits only
    /// briefly). `aggressive` ignores the retention times and frees the oldest
    /// prunable data first: used when the size bound is near.
    public func prune(now: EpochMillis, bounds: StoreBounds, aggressive: Bool, batch: Int = 500) throws -> PruneSummary {
        let rawCutoff = aggressive ? now : now - bounds.rawRetentionMillis
        let readingCutoff = aggressive ? now : now - bounds.readingRetentionMillis
        // Uplink rows are the memory of what was already taken: within the
        // duplicate window they stay (raw bytes may go; a hash then suffices).
        let uplinkCutoff = min(readingCutoff, now - deduplication.frameWindowMillis)
        var summary = PruneSummary()
        try locked {
            try connection.transaction {
                // Each scan stops at the last row old enough (found by id: ids
                // follow arrival order), so a pass never reads the young rows.
                let rawLastID = try lastID(in: "uplinks", time: "received_ms", before: rawCutoff)
                let openFrom = try earliestOpenWindowEnd()
                summary.rawBytesStripped = try connection.run(
                    """
                    DELETE FROM uplink_messages WHERE uplink_id IN (
                        SELECT u.id FROM uplink_messages m JOIN uplinks u ON u.id = m.uplink_id
                        WHERE m.uplink_id <= ?3 AND u.received_ms < ?1 AND u.state IN (1, 3, 4, 5)
                          AND NOT EXISTS (SELECT 1 FROM readings r
                                          WHERE r.uplink_id = u.id AND r.aggregated <> 2 AND \(Self.mayBeOpen("r", from: "?4")))
                        ORDER BY m.uplink_id LIMIT ?2)
                    """, [.integer(rawCutoff), .integer(Int64(batch)), .integer(rawLastID), .integer(openFrom)])
                // An uplink's readings go together (one row), once every one
                // of them may: a reading keeps its uplink's others.
                let prunableReadings = try connection.query(
                    """
                    SELECT u.uplink_id, json_array_length(u.readings) FROM uplink_readings u
                    WHERE u.uplink_id <= ?5
                      AND NOT EXISTS (
                        SELECT 1 FROM readings r WHERE r.uplink_id = u.uplink_id
                          AND (r.time_ms >= ?1 OR r.window_start_ms + r.window_ms + ?3 > ?4
                               OR (r.aggregated <> 2 AND \(Self.mayBeOpen("r", from: "?6")))
                               OR EXISTS (
                                 SELECT 1 FROM aggregates a JOIN deliveries d ON d.aggregate_id = a.id
                                 WHERE a.source = r.device AND a.metric = r.metric AND a.channel IS r.channel
                                   AND a.window_ms = r.window_ms AND a.window_start_ms = r.window_start_ms AND d.state <> 2)))
                    ORDER BY u.uplink_id LIMIT ?2
                    """, [.integer(readingCutoff), .integer(Int64(batch)), .integer(bounds.revisableMillis), .integer(now),
                          .integer(try lastID(in: "uplinks", time: "received_ms", before: readingCutoff)), .integer(openFrom)])
                for row in prunableReadings {
                    try connection.run("DELETE FROM uplink_readings WHERE uplink_id = ?", [row[0]])
                    summary.readingsDeleted += Int(row[1].int ?? 0)
                }
                summary.quarantinedDeleted = try pruneQuarantine(before: aggressive ? now : now - bounds.quarantineRetentionMillis, limit: batch)
                // Bare quarantined rows (pruned, or a flood's counted ones)
                // go under pressure even within the duplicate window: a
                // redelivery of one would only be quarantined again.
                let prunable = try connection.query(
                    """
                    SELECT u.id, u.state FROM uplinks u
                    WHERE u.id <= ?4 AND ((u.received_ms < ?1 AND u.state IN (1, 3, 4, 5))
                           OR (u.state = 2 AND (?3 OR u.received_ms < ?1) AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.uplink_id = u.id)))
                      AND NOT EXISTS (SELECT 1 FROM uplink_messages m WHERE m.uplink_id = u.id)
                      AND NOT EXISTS (SELECT 1 FROM uplink_readings r WHERE r.uplink_id = u.id)
                    ORDER BY u.id LIMIT ?2
                    """, [.integer(uplinkCutoff), .integer(Int64(batch)), .integer(aggressive ? 1 : 0),
                          .integer(aggressive ? Int64.max : try lastID(in: "uplinks", time: "received_ms", before: uplinkCutoff))])
                for row in prunable {
                    try connection.run("DELETE FROM uplinks WHERE id = ?", [row[0]])
                }
                summary.uplinksDeleted = prunable.count
                // `status` keeps counting them as uplinks once stored (duplicate frames never were).
                let storedGone = prunable.filter { $0[1].int != UplinkState.duplicateFrame.rawValue }.count
                if storedGone > 0 { try bump("pruned_stored_uplinks", by: Int64(storedGone)) }
                // An aggregate stays while its window is open (revised after
                // it closed) or may still be revised: a closed window's state
                // is its aggregate, and a revision is made from it. Pruned
                // within its lateness, a late reading would start the window
                // afresh and publish it from that reading alone.
                let aggregates = try connection.query(
                    """
                    SELECT a.id FROM aggregates a
                    WHERE a.window_start_ms + a.window_ms < ?1
                      AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.aggregate_id = a.id AND d.state <> 2)
                      AND NOT (\(Self.mayBeOpen("a", from: "?3")))
                      AND a.window_start_ms + a.window_ms < ?4
                    ORDER BY a.window_start_ms LIMIT ?2
                    """, [.integer(readingCutoff), .integer(Int64(batch)), .integer(openFrom),
                          .integer(try revisableFrom(now: now, revisableMillis: bounds.revisableMillis))]).compactMap { $0[0].int }
                for id in aggregates {
                    try connection.run("DELETE FROM deliveries WHERE aggregate_id = ?", [.integer(id)])
                    try connection.run("DELETE FROM aggregates WHERE id = ?", [.integer(id)])
                }
                summary.aggregatesDeleted = aggregates.count
                if summary.rawBytesStripped > 0 { try bump("pruned_raw_bytes", by: Int64(summary.rawBytesStripped)) }
                if summary.readingsDeleted > 0 { try bump("pruned_readings", by: Int64(summary.readingsDeleted)) }
                if summary.uplinksDeleted > 0 { try bump("pruned_uplinks", by: Int64(summary.uplinksDeleted)) }
                if summary.aggregatesDeleted > 0 { try bump("pruned_aggregates", by: Int64(summary.aggregatesDeleted)) }
                if summary.quarantinedDeleted > 0 { try bump("pruned_quarantined", by: Int64(summary.quarantinedDeleted)) }
            }
        }
        return summary
    }

    /// Windows that end at or after this may still be revised: their end
    /// plus grace plus lateness has not passed now, nor the commit of the
    /// oldest uplink that may yet be decoded (waiting, or quarantined and so
    /// open to `requeue`), whose readings are on time by that commit. Under
    /// pressure the quarantine is pruned first, in the same pass.
    func revisableFrom(now: EpochMillis, revisableMillis revisable: Int64) throws -> EpochMillis {
        let oldestPending = try connection.scalar("SELECT received_ms FROM uplinks WHERE state = 0 ORDER BY id LIMIT 1")
        let oldestQuarantined = try connection.scalar(
            "SELECT u.received_ms FROM quarantine q JOIN uplinks u ON u.id = q.uplink_id ORDER BY q.uplink_id LIMIT 1")
        let (bound, overflow) = min(now, oldestPending ?? now, oldestQuarantined ?? now).subtractingReportingOverflow(revisable)
        return overflow ? .min : bound
    }

    /// The earliest end of any device's open window (`open_until_ms`, by its
    /// partial index); Int64.max when none is open. Every window still open
    /// (or revised since it closed) ends at or after it.
    func earliestOpenWindowEnd() throws -> EpochMillis {
        try connection.scalar(Self.earliestOpenWindowEndQuery) ?? .max
    }

    static let earliestOpenWindowEndQuery = "SELECT open_until_ms FROM device_sessions WHERE open_until_ms IS NOT NULL ORDER BY open_until_ms LIMIT 1"

    /// Whether the window of the row `table` (a reading or an aggregate) may
    /// be open: it ends at or after `parameter`, the earliest open window's
    /// end (`earliestOpenWindowEnd`). Errs towards open, which keeps data a
    /// little longer, never prunes it early; windows close within a tick of
    /// their end plus grace, so the bound follows the present.
    static func mayBeOpen(_ table: String, from parameter: String) -> String {
        "\(table).window_start_ms + \(table).window_ms >= \(parameter)"
    }

    /// The highest id of `table` whose `time` is before `cutoff`, by a binary
    /// search over ids (about 20 primary-key lookups for a million rows).
    /// Ids follow arrival order, so this bounds a scan for old rows; where
    /// times are not quite in id order (device clocks), the scan's own time
    /// condition still decides, and a row just past the bound waits a pass.
    func lastID(in table: String, time: String, before cutoff: EpochMillis) throws -> Int64 {
        // Two queries: SQLite answers min() or max() alone from the b-tree's
        // edge, but both in one query by scanning every row (182 ms at 1 M).
        guard var low = try connection.query("SELECT min(id) FROM \(table)").first?[0].int,
              var high = try connection.query("SELECT max(id) FROM \(table)").first?[0].int else { return 0 }
        func timeAt(_ id: Int64) throws -> Int64? {
            try connection.query("SELECT \(time) FROM \(table) WHERE id >= ? ORDER BY id LIMIT 1", [.integer(id)]).first?[0].int
        }
        guard let first = try timeAt(low), first < cutoff else { return 0 }
        while low < high {
            let middle = low + (high - low + 1) / 2
            if let at = try timeAt(middle), at < cutoff { low = middle } else { high = middle - 1 }
        }
        return low
    }
}
