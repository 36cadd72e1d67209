import Readings

/// An aggregate waiting for a hub, with what the hub already holds of it.
public struct PendingDelivery: Sendable, Equatable {
    public var aggregateID: Int64
    public var revision: Int64
    public var record: AggregateRecord
    /// The hub's id or self-link from an earlier revision, if any.
    public var hubRef: String?
    public var attempts: Int64
    /// Sent before without a clear answer (a crash mid-batch, a timeout):
    /// the hub may hold it already, so ask before sending it again.
    public var wasInFlight: Bool = false
}

/// Where one aggregate stands with one hub.
public enum DeliveryState: Int64, Sendable {
    case pending = 0
    case inFlight = 1
    case delivered = 2
    case deadLettered = 3
}

/// The delivery ledger: one row per (hub, aggregate), the outbox cursor of
/// each hub; and the ids hubs gave us (`hub_refs`).
extension GatewayStore {
    /// Queues an aggregate revision for each hub (inside the saving transaction).
    func queue(aggregate id: Int64, revision: Int64, for hubs: [String], now: EpochMillis) throws {
        for hub in hubs {
            try connection.run(
                """
                INSERT INTO deliveries (hub, aggregate_id, state, revision, updated_ms) VALUES (?, ?, 0, ?, ?)
                ON CONFLICT(hub, aggregate_id) DO UPDATE SET state = 0, revision = excluded.revision,
                    attempts = 0, last_error = NULL, updated_ms = excluded.updated_ms
                """,
                [.text(hub), .integer(id), .integer(revision), .integer(now)])
        }
    }

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
                let group = WindowGroup(device: row[3].string ?? "", metric: try Metric.stored(row[5]), channel: row[6].int.map { Int($0) },
                                        windowLength: row[8].int ?? 0, windowStart: row[7].int ?? 0)
                let statistics = WindowStatistics(count: row[9].int ?? 0, min: row[10].int ?? 0, max: row[11].int ?? 0,
                                                  mean: row[12].int ?? 0, last: row[13].int ?? 0, lastTime: row[14].int ?? 0)
                let scope: AggregateScope = row[17].string == "zone" ? .zone(members: row[19].int ?? 0, total: row[20].int ?? 0) : .device
                let record = AggregateRecord(windowKey: row[2].string ?? "", group: group, kind: try SensorKind.stored(row[4]),
                                             statistics: statistics, scope: scope, zone: row[18].string)
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
        try transaction {
            for item in delivered {
                try connection.run(
                    """
                    UPDATE deliveries SET state = CASE WHEN revision = ? THEN 2 ELSE state END,
                        hub_ref = coalesce(?, hub_ref), last_error = NULL, updated_ms = ?
                    WHERE hub = ? AND aggregate_id = ?
                    """,
                    [.integer(item.revision), .optional(item.ref), .integer(now), .text(hub), .integer(item.id)])
            }
        }
    }

    /// A transient failure: back to pending with the error kept.
    public func markRetry(hub: String, _ items: [(id: Int64, error: String)], now: EpochMillis) throws {
        try updateDeliveries(hub: hub, items.map { ($0.id, $0.error) }, state: .pending, now: now, countAttempt: false)
    }

    /// Dead-lettered deliveries of a hub back to pending (`citygate redeliver`).
    /// In steps of `step` rows, so a running daemon's intake never waits long.
    public func redeliverDeadLettered(hub: String, now: EpochMillis, step: Int = 1000) throws -> Int {
        var total = 0
        while true {
            let count = try locked {
                try connection.run(
                    """
                    UPDATE deliveries SET state = 0, attempts = 0, updated_ms = ?1
                    WHERE hub = ?2 AND aggregate_id IN (SELECT aggregate_id FROM deliveries WHERE hub = ?2 AND state = 3 LIMIT ?3)
                    """,
                    [.integer(now), .text(hub), .integer(Int64(step))])
            }
            total += count
            if count < step { return total }
        }
    }

    /// Sent without an answer: they stay in flight, to be reconciled with the hub.
    public func markUncertain(hub: String, _ items: [(id: Int64, error: String)], now: EpochMillis) throws {
        try updateDeliveries(hub: hub, items.map { ($0.id, $0.error) }, state: .inFlight, now: now, countAttempt: false)
    }

    /// The hub refused these for good: dead-lettered with the hub's answer.
    public func markDeadLettered(hub: String, _ items: [(id: Int64, error: String)], now: EpochMillis) throws {
        try updateDeliveries(hub: hub, items.map { ($0.id, $0.error) }, state: .deadLettered, now: now, countAttempt: false)
    }

    private func updateDeliveries(hub: String, _ items: [(Int64, String?)], state: DeliveryState, now: EpochMillis, countAttempt: Bool) throws {
        try transaction {
            for (id, error) in items {
                try connection.run(
                    """
                    UPDATE deliveries SET state = ?, attempts = attempts + ?, last_error = coalesce(?, last_error), updated_ms = ?
                    WHERE hub = ? AND aggregate_id = ? AND state <> 2
                    """,
                    [.integer(state.rawValue), .integer(countAttempt ? 1 : 0), .optional(error),
                     .integer(now), .text(hub), .integer(id)])
            }
        }
    }

    /// Per hub in the ledger: windows not delivered (pending, in flight or
    /// dead-lettered). A hub removed from the config keeps these until dropped.
    public func undeliveredByHub() throws -> [String: Int64] {
        try locked {
            var result: [String: Int64] = [:]
            for row in try connection.query("SELECT hub, count(*) FROM deliveries WHERE state <> 2 GROUP BY hub") {
                if let hub = row[0].string { result[hub] = row[1].int ?? 0 }
            }
            return result
        }
    }

    /// Forgets a hub: its ledger rows and the ids it gave, in steps of
    /// `step` rows a transaction so a running daemon's intake never waits
    /// long for the writer. Returns how many ledger rows went.
    public func dropHub(_ hub: String, step: Int = 1000) throws -> Int {
        var dropped = 0
        while true {
            let count = try transaction {
                try connection.run(
                    "DELETE FROM deliveries WHERE hub = ?1 AND aggregate_id IN (SELECT aggregate_id FROM deliveries WHERE hub = ?1 LIMIT ?2)",
                    [.text(hub), .integer(Int64(step))])
            }
            dropped += count
            if count < step { break }
        }
        try transaction { _ = try connection.run("DELETE FROM hub_refs WHERE hub = ?", [.text(hub)]) }
        return dropped
    }

    // MARK: - Hub references (SensorThings Things and Datastreams, ...)

    public func hubRef(hub: String, key: String) throws -> String? {
        try locked { try connection.query("SELECT ref FROM hub_refs WHERE hub = ? AND key = ?", [.text(hub), .text(key)]).first?[0].string }
    }

    public func deleteHubRef(hub: String, key: String) throws {
        try locked { _ = try connection.run("DELETE FROM hub_refs WHERE hub = ? AND key = ?", [.text(hub), .text(key)]) }
    }

    public func setHubRef(hub: String, key: String, ref: String) throws {
        try locked {
            _ = try connection.run("INSERT OR REPLACE INTO hub_refs (hub, key, ref) VALUES (?, ?, ?)", [.text(hub), .text(key), .text(ref)])
        }
    }
}
