import Readings

/// Readings and the windows they fall in: stored as processing records
/// them, read back window by window when aggregation closes one.
extension GatewayStore {
    func insert(_ readings: [ReadingRow], uplinkID id: Int64) throws {
        for row in readings {
            let r = row.reading
            try connection.run(
                """
                INSERT INTO readings (uplink_id, device, metric, channel, time_ms, value, window_ms, window_start_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [.integer(id), .text(r.device), .text(r.metric.name), .channel(r.channel),
                 .integer(r.time), .integer(r.value), .integer(row.windowLength), .integer(row.windowStart)])
        }
    }

    /// The bound values that pick one window of one series out of `readings`.
    private func windowParameters(_ group: WindowGroup) -> [SQLiteValue] {
        [.text(group.device), .text(group.metric.name), .channel(group.channel), .integer(group.windowLength), .integer(group.windowStart)]
    }

    private static let sameWindow = "device = ? AND metric = ? AND channel IS ? AND window_ms = ? AND window_start_ms = ?"

    /// Windows with readings not yet aggregated whose end plus grace is at or before `now`.
    public func closedWindows(graceMillis: Int64, now: EpochMillis, limit: Int = 1000) throws -> [WindowGroup] {
        try locked {
            try connection.query(
                """
                SELECT DISTINCT device, metric, channel, window_ms, window_start_ms FROM readings
                WHERE aggregated = 0 AND window_start_ms + window_ms + ? <= ?
                ORDER BY window_start_ms LIMIT ?
                """,
                [.integer(graceMillis), .integer(now), .integer(Int64(limit))]
            ).map { WindowGroup(device: $0[0].string ?? "", metric: try Metric.stored($0[1]), channel: $0[2].int.map { Int($0) },
                                windowLength: $0[3].int ?? 0, windowStart: $0[4].int ?? 0) }
        }
    }

    /// Every reading of one window, in time order (then arrival order), as
    /// (time, value), and the highest reading id among them.
    public func windowValues(_ group: WindowGroup) throws -> (values: [(time: EpochMillis, value: Int64)], throughReadingID: Int64) {
        try locked {
            var through: Int64 = 0
            let values = try connection.query(
                "SELECT time_ms, value, id FROM readings WHERE \(Self.sameWindow) AND aggregated <> 2 ORDER BY time_ms, id",
                windowParameters(group)
            ).map { row -> (time: EpochMillis, value: Int64) in
                through = max(through, row[2].int ?? 0)
                return (time: row[0].int ?? 0, value: row[1].int ?? 0)
            }
            return (values, through)
        }
    }

    /// Marks the window's unaggregated readings that arrived (were committed)
    /// after `cutoff` as too late, when the window was closed before: they
    /// stay stored and counted but never change what was published. A window
    /// never closed before (the gateway was down) takes them, however late.
    /// (One lookup by window key when the window was never closed, the
    /// common case; uplinks are looked up by id, never scanned by time.)
    /// Returns how many readings were set aside and how many unaggregated
    /// readings of the window remain (none: nothing new to aggregate).
    public func setAsideLateReadings(_ group: WindowGroup, windowKey: String, receivedAfter cutoff: EpochMillis) throws -> (setAside: Int, remaining: Int64) {
        try transaction {
            let count = try connection.run(
                """
                UPDATE readings SET aggregated = 2
                WHERE aggregated = 0 AND \(Self.sameWindow)
                  AND EXISTS (SELECT 1 FROM aggregates WHERE window_key = ?)
                  AND (SELECT u.received_ms FROM uplinks u WHERE u.id = readings.uplink_id) > ?
                """,
                windowParameters(group) + [.text(windowKey), .integer(cutoff)])
            guard count > 0 else { return (0, 1) }
            try bump("readings_too_late", by: Int64(count))
            let remaining = try connection.scalar(
                "SELECT count(*) FROM readings WHERE aggregated = 0 AND \(Self.sameWindow)", windowParameters(group)) ?? 0
            return (count, remaining)
        }
    }

    /// Marks a window's readings up to `throughReadingID` aggregated (inside
    /// the transaction that saves its aggregate).
    func markAggregated(_ group: WindowGroup, throughReadingID: Int64) throws {
        try connection.run(
            "UPDATE readings SET aggregated = 1 WHERE aggregated = 0 AND \(Self.sameWindow) AND id <= ?",
            windowParameters(group) + [.integer(throughReadingID)])
    }
}
