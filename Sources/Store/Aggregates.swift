import Readings

/// Closed windows (device scope) and zone roll-ups (zone scope), with their
/// revisions; saving one queues it for the hubs that may receive it.
extension GatewayStore {
    /// Stores closed-window aggregates (a new revision if the window was
    /// aggregated before), marks a device window's accumulator closed and
    /// queues them for every hub in `hubs`, in one transaction.
    public func saveAggregates(_ records: [AggregateRecord], hubs: [String], now: EpochMillis) throws {
        try transaction {
            for record in records {
                let id = try upsert(record, now: now)
                try queue(aggregate: id.id, revision: id.revision, for: hubs, now: now)
            }
            try markClosed(records)
        }
    }

    /// Inserts the aggregate or makes it the window's next revision.
    private func upsert(_ record: AggregateRecord, now: EpochMillis) throws -> (id: Int64, revision: Int64) {
        let g = record.group
        let stats = record.statistics
        var members = SQLiteValue.null, total = SQLiteValue.null
        if case let .zone(count, sum) = record.scope { members = .integer(count); total = .integer(sum) }
        let sum = record.sum.map(Self.storedSum)
        try connection.run(
            """
            INSERT INTO aggregates (window_key, source, kind, metric, channel, window_start_ms, window_ms,
                                    count, min, max, mean, last, last_time_ms, revision, updated_ms,
                                    scope, zone, members, total, rollup_pending, sum_high, sum_low)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(window_key) DO UPDATE SET count = excluded.count, min = excluded.min, max = excluded.max,
                mean = excluded.mean, last = excluded.last, last_time_ms = excluded.last_time_ms,
                revision = aggregates.revision + 1, updated_ms = excluded.updated_ms,
                zone = excluded.zone, members = excluded.members, total = excluded.total,
                rollup_pending = excluded.rollup_pending, sum_high = excluded.sum_high, sum_low = excluded.sum_low
            """,
            [.text(record.windowKey), .text(g.device), .text(record.kind.rawValue), .text(g.metric.name), .channel(g.channel),
             .integer(g.windowStart), .integer(g.windowLength), .integer(stats.count), .integer(stats.min),
             .integer(stats.max), .integer(stats.mean), .integer(stats.last), .integer(stats.lastTime), .integer(now),
             .text(record.scope.storedName), .optional(record.zone), members, total,
             .integer(record.scope == .device && record.zone != nil ? 1 : 0), sum?.high ?? .null, sum?.low ?? .null])
        let row = try connection.query("SELECT id, revision FROM aggregates WHERE window_key = ?", [.text(record.windowKey)]).first
        return (row?[0].int ?? 0, row?[1].int ?? 1)
    }

    /// The device windows of one roll-up group (zone or station), kind,
    /// series and window, with each device's statistics.
    public func zoneMembers(_ window: ZoneWindow) throws -> [(device: DeviceID, statistics: WindowStatistics)] {
        try locked {
            try connection.query(
                """
                SELECT source, count, min, max, mean, last, last_time_ms FROM aggregates
                WHERE scope = 'device' AND \(Self.sameZoneWindow)
                ORDER BY source
                """,
                Self.parameters(window)
            ).map { row in
                (device: row[0].string ?? "",
                 statistics: WindowStatistics(count: row[1].int ?? 0, min: row[2].int ?? 0, max: row[3].int ?? 0,
                                              mean: row[4].int ?? 0, last: row[5].int ?? 0, lastTime: row[6].int ?? 0))
            }
        }
    }

    /// What a codec rule made of a device not listed in the registry.
    public func ruleDevice(_ device: DeviceID) throws -> (kind: SensorKind, zone: String?)? {
        try locked {
            guard let row = try connection.query("SELECT kind, zone FROM rule_devices WHERE device = ?", [.text(device)]).first else { return nil }
            return (kind: try SensorKind.stored(row[0]), zone: row[1].string)
        }
    }

    /// Zone windows whose members changed since their roll-up was last
    /// computed (durable: a crash in between computes them again).
    public func pendingRollups(limit: Int = 1000) throws -> [ZoneWindow] {
        try locked {
            try connection.query(
                """
                SELECT DISTINCT zone, kind, metric, channel, window_ms, window_start_ms FROM aggregates
                WHERE rollup_pending = 1 ORDER BY window_start_ms LIMIT ?
                """, [.integer(Int64(limit))]
            ).map { ZoneWindow(zone: $0[0].string ?? "", kind: try SensorKind.stored($0[1]), metric: try Metric.stored($0[2]),
                               channel: $0[3].int.map { Int($0) }, windowLength: $0[4].int ?? 0, windowStart: $0[5].int ?? 0) }
        }
    }

    /// The roll-up of this zone window is saved: its members are up to date.
    public func clearPendingRollup(_ window: ZoneWindow) throws {
        try locked {
            _ = try connection.run("UPDATE aggregates SET rollup_pending = 0 WHERE rollup_pending = 1 AND \(Self.sameZoneWindow)",
                                   Self.parameters(window))
        }
    }

    private static let sameZoneWindow = "zone = ? AND kind = ? AND metric = ? AND channel IS ? AND window_ms = ? AND window_start_ms = ?"

    private static func parameters(_ window: ZoneWindow) -> [SQLiteValue] {
        [.text(window.zone), .text(window.kind.rawValue), .text(window.metric.name), .channel(window.channel),
         .integer(window.windowLength), .integer(window.windowStart)]
    }
}
