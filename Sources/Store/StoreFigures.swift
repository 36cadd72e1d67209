import Readings

/// Figures for `citygate status` and the metrics endpoint.
public struct StoreStatistics: Sendable, Equatable {
    public var uplinksStored: Int64 = 0
    public var uplinksPending: Int64 = 0
    public var readingsStored: Int64 = 0
    public var duplicates: Int64 = 0
    public var quarantined: Int64 = 0
    public var aggregates: Int64 = 0
    /// Readings that came after their window's lateness: stored, not aggregated.
    public var readingsTooLate: Int64 = 0
    public var hubs: [String: HubBacklog] = [:]

    public struct HubBacklog: Sendable, Equatable {
        public var backlog: Int64
        public var delivered: Int64
        public var deadLettered: Int64
        public var oldestUndelivered: EpochMillis?
    }
}

/// Read-only figures over every ledger (counters, counts, per-device activity).
extension GatewayStore {
    /// Per device: uplinks recorded and when the last one arrived (kept as
    /// they are recorded, see `DeviceSessionBatch.noteActivity`; one row per device).
    public func deviceActivity() throws -> [DeviceID: (uplinks: Int64, lastSeen: EpochMillis)] {
        try locked {
            var result: [DeviceID: (uplinks: Int64, lastSeen: EpochMillis)] = [:]
            for row in try connection.query("SELECT device, uplinks, last_seen_ms FROM device_sessions WHERE last_seen_ms IS NOT NULL") {
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
            s.readingsStored = try connection.scalar("SELECT coalesce(sum(json_array_length(readings)), 0) FROM uplink_readings") ?? 0
            s.duplicates = (counters["uplinks_duplicate"] ?? 0) + (counters["frames_duplicate"] ?? 0)
            // A flood's samples stand for `count` uplinks each.
            s.quarantined = try connection.scalar("SELECT coalesce(sum(count), 0) FROM quarantine") ?? 0
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
}

/// What the quarantine holds, for `/api/status`: counts by reason over the
/// last hour and in total (a flood's sample counts for the uplinks it
/// stands for), and the newest rows without their bytes.
public struct QuarantineSummary: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var uplinkID: Int64
        public var lastSeen: EpochMillis
        public var device: String?
        public var reason: String
    }

    public var lastHour: [String: Int64] = [:]
    public var total: [String: Int64] = [:]
    public var newest: [Entry] = []
}

extension GatewayStore {
    public func quarantineSummary(now: EpochMillis, newest: Int = 20) throws -> QuarantineSummary {
        try locked {
            var summary = QuarantineSummary()
            for row in try connection.query(
                "SELECT category, coalesce(sum(count), 0), coalesce(sum(CASE WHEN last_seen_ms >= ? THEN count END), 0) FROM quarantine GROUP BY category",
                [.integer(now - 3_600_000)]) {
                let reason = row[0].string ?? ""
                summary.total[reason] = row[1].int ?? 0
                if let hour = row[2].int, hour > 0 { summary.lastHour[reason] = hour }
            }
            summary.newest = try connection.query(
                "SELECT uplink_id, last_seen_ms, device, category FROM quarantine ORDER BY id DESC LIMIT ?", [.integer(Int64(newest))]
            ).map { .init(uplinkID: $0[0].int ?? 0, lastSeen: $0[1].int ?? 0, device: $0[2].string, reason: $0[3].string ?? "") }
            return summary
        }
    }
}
