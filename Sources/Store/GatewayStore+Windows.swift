import Readings

/// What the aggregation stage asks of the store beyond closing device
/// windows: setting aside readings that came too late, and the member
/// windows of a zone roll-up.
extension GatewayStore {
    /// Marks the window's unaggregated readings that arrived (were committed)
    /// after `cutoff` as too late, when the window was closed before: they
    /// stay stored and counted but never change what was published. A window
    /// never closed before (the gateway was down) takes them, however late.
    /// (Cost: one lookup by window key when the window was never closed, the
    /// common case; uplinks are looked up by id, never scanned by time.)
    /// Returns how many readings were set aside and how many unaggregated
    /// readings of the window remain (none: nothing new to aggregate).
    public func setAsideLateReadings(_ group: WindowGroup, windowKey: String, receivedAfter cutoff: EpochMillis) throws -> (setAside: Int, remaining: Int64) {
        try locked {
            try connection.transaction {
                let count = try connection.run(
                    """
                    UPDATE readings SET aggregated = 2
                    WHERE aggregated = 0 AND device = ? AND metric = ? AND channel IS ? AND window_ms = ? AND window_start_ms = ?
                      AND EXISTS (SELECT 1 FROM aggregates WHERE window_key = ?)
                      AND (SELECT u.received_ms FROM uplinks u WHERE u.id = readings.uplink_id) > ?
                    """,
                    [.text(group.device), .text(group.metric), group.channel.map { .integer(Int64($0)) } ?? .null,
                     .integer(group.windowLength), .integer(group.windowStart), .text(windowKey), .integer(cutoff)])
                guard count > 0 else { return (0, 1) }
                try bump("readings_too_late", by: Int64(count))
                let remaining = try connection.scalar(
                    "SELECT count(*) FROM readings WHERE aggregated = 0 AND device = ? AND metric = ? AND channel IS ? AND window_ms = ? AND window_start_ms = ?",
                    [.text(group.device), .text(group.metric), group.channel.map { .integer(Int64($0)) } ?? .null,
                     .integer(group.windowLength), .integer(group.windowStart)]) ?? 0
                return (count, remaining)
            }
        }
    }

    /// The device windows of one roll-up group (zone or station), kind,
    /// series and window, with each device's statistics.
    public func zoneMembers(_ window: ZoneWindow) throws -> [(device: DeviceID, statistics: WindowStatistics)] {
        let (zone, kind, metric, channel, windowStart, windowLength) = (window.zone, window.kind, window.metric, window.channel,
                                                                         window.windowStart, window.windowLength)
        return try locked {
            try connection.query(
                """
                SELECT source, count, min, max, mean, last, last_time_ms FROM aggregates
                WHERE scope = 'device' AND zone = ? AND kind = ? AND metric = ? AND channel IS ? AND window_ms = ? AND window_start_ms = ?
                ORDER BY source
                """,
                [.text(zone), .text(kind), .text(metric), channel.map { .integer(Int64($0)) } ?? .null,
                 .integer(windowLength), .integer(windowStart)]
            ).map { row in
                (device: row[0].string ?? "",
                 statistics: WindowStatistics(count: row[1].int ?? 0, min: row[2].int ?? 0, max: row[3].int ?? 0,
                                              mean: row[4].int ?? 0, last: row[5].int ?? 0, lastTime: row[6].int ?? 0))
            }
        }
    }

    /// What a codec rule made of a device not listed in the registry.
    public func ruleDevice(_ device: DeviceID) throws -> (kind: String, zone: String?)? {
        try locked {
            try connection.query("SELECT kind, zone FROM rule_devices WHERE device = ?", [.text(device)]).first
                .map { (kind: $0[0].string ?? "generic", zone: $0[1].string) }
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
            ).map { ZoneWindow(zone: $0[0].string ?? "", kind: $0[1].string ?? "", metric: $0[2].string ?? "", channel: $0[3].int.map { Int($0) },
                               windowLength: $0[4].int ?? 0, windowStart: $0[5].int ?? 0) }
        }
    }

    /// The roll-up of this zone window is saved: its members are up to date.
    public func clearPendingRollup(_ window: ZoneWindow) throws {
        try locked {
            _ = try connection.run(
                """
                UPDATE aggregates SET rollup_pending = 0
                WHERE rollup_pending = 1 AND zone = ? AND kind = ? AND metric = ? AND channel IS ? AND window_ms = ? AND window_start_ms = ?
                """,
                [.text(window.zone), .text(window.kind), .text(window.metric), window.channel.map { .integer(Int64($0)) } ?? .null,
                 .integer(window.windowLength), .integer(window.windowStart)])
        }
    }
}

/// One window of one series over a roll-up group (zone or station) and kind.
public struct ZoneWindow: Sendable, Hashable {
    public var zone: String
    public var kind: String
    public var metric: String
    public var channel: Int?
    public var windowLength: Int64
    public var windowStart: EpochMillis

    public init(zone: String, kind: String, metric: String, channel: Int?, windowLength: Int64, windowStart: EpochMillis) {
        self.zone = zone
        self.kind = kind
        self.metric = metric
        self.channel = channel
        self.windowLength = windowLength
        self.windowStart = windowStart
    }
}
