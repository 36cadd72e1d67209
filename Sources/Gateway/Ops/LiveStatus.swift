import BuildInfo
import FoundationEssentials
import Readings
import Store
import Hubs
import Uplink

/// `/api/status`: what `citygate status --json` has (`StatusReport.fields`,
/// same names and shapes), then what only the running daemon knows: its
/// version and uptime, the broker link, intake, the store against its bound,
/// each hub's live state, and the quarantine (by reason, the newest 20, no
/// payload bytes). The status page renders the same value.
public struct LiveStatus: Sendable {
    public struct Broker: Sendable {
        public var url: String
        public var connected: Bool
        public var detail: String
        public var subscriptions: [(topic: String, envelope: String)]
    }

    public struct Hub: Sendable {
        public var name: String
        public var kind: String
        public var isPrivate: Bool
        public var live: HubStatusBoard.Entry
    }

    public var report: StatusReport
    public var startedAt: EpochMillis
    public var now: EpochMillis
    public var broker: Broker
    /// Nil while intake runs.
    public var intakePausedBecause: String?
    public var storeUsedBytes: Int64
    public var storeBoundBytes: Int64?
    public var hubs: [Hub]
    public var quarantine: QuarantineSummary

    /// Hubs, by name, with the ledger's figures.
    public func ledger(_ hub: String) -> StoreStatistics.HubBacklog? { report.statistics.hubs[hub] }

    /// Problems, most serious first, in words: the top of the page.
    public var problems: [String] {
        var problems: [String] = []
        if !broker.connected { problems.append("Broker not connected (\(broker.detail)); uplinks wait in the broker's queue.") }
        if let why = intakePausedBecause { problems.append("Intake paused: \(why).") }
        for hub in hubs where hub.live.authPaused {
            problems.append("Hub \(hub.name) refuses the gateway's credentials; delivery to it is paused, its backlog kept.")
        }
        for hub in hubs where !hub.live.authPaused && hub.live.consecutiveFailures > 0 {
            problems.append("Hub \(hub.name) is failing (\(hub.live.consecutiveFailures) attempts): \(hub.live.lastError ?? "no answer").")
        }
        for hub in hubs {
            if let dead = ledger(hub.name)?.deadLettered, dead > 0 {
                problems.append("Hub \(hub.name) refused \(dead) windows for good (citygate redeliver --hub \(hub.name) sends them again).")
            }
        }
        if let bound = storeBoundBytes, bound > 0, storeUsedBytes * 10 > bound * 9 {
            problems.append("Store at \(storeUsedBytes * 100 / bound) % of its bound.")
        }
        if !report.silent.isEmpty {
            problems.append("\(report.silent.count) of \(report.registry.count) registered devices are silent.")
        }
        return problems
    }

    public var json: JSONText {
        let hubObjects = hubs.map { hub -> (String, JSONText) in
            let ledger = ledger(hub.name)
            let lag = ledger?.oldestUndelivered.map { max(0, now - $0) / 1000 }
            return (hub.name, .object([
                ("kind", .string(hub.kind)), ("private", .bool(hub.isPrivate)),
                ("backlog", .integer(ledger?.backlog ?? 0)), ("delivered", .integer(ledger?.delivered ?? 0)),
                ("dead_lettered", .integer(ledger?.deadLettered ?? 0)), ("in_flight", .integer(Int64(hub.live.inFlight))),
                ("lag_seconds", lag.map { .integer($0) } ?? .null), ("auth_paused", .bool(hub.live.authPaused)),
                ("consecutive_failures", .integer(Int64(hub.live.consecutiveFailures))),
                ("last_error", hub.live.lastError.map { .string($0) } ?? .null),
                ("last_error_at", hub.live.lastErrorAt.map { .string(RFC3339.format($0)) } ?? .null),
            ]))
        }
        let reasons = Set(quarantine.total.keys).sorted()
        let live: [(String, JSONText)] = [
            ("version", .string(BuildInfo.version)), ("commit", .string(BuildInfo.commit)),
            ("started_at", .string(RFC3339.format(startedAt))), ("uptime_seconds", .integer((now - startedAt) / 1000)),
            ("broker", .object([
                ("url", .string(broker.url)), ("connected", .bool(broker.connected)), ("detail", .string(broker.detail)),
                ("subscriptions", .array(broker.subscriptions.map { .object([("topic", .string($0.topic)), ("envelope", .string($0.envelope))]) })),
            ])),
            ("intake", .object([
                ("running", .bool(intakePausedBecause == nil)),
                ("paused_because", intakePausedBecause.map { .string($0) } ?? .null),
            ])),
            ("store", .object([
                ("used_bytes", .integer(storeUsedBytes)),
                ("bound_bytes", storeBoundBytes.map { .integer($0) } ?? .null),
            ])),
            ("hub_status", .object(hubObjects)),
            ("devices_registered", .integer(Int64(report.registry.count))),
            ("quarantine_by_reason", .object(reasons.map { reason in
                (reason, .object([("last_hour", .integer(quarantine.lastHour[reason] ?? 0)), ("total", .integer(quarantine.total[reason] ?? 0))]))
            })),
            ("quarantine_newest", .array(quarantine.newest.map { entry in
                .object([("uplink_id", .integer(entry.uplinkID)), ("time", .string(RFC3339.format(entry.lastSeen))),
                         ("device", entry.device.map { .string($0) } ?? .null), ("reason", .string(entry.reason))])
            })),
            ("problems", .array(problems.map { .string($0) })),
        ]
        return .object(report.fields + live)
    }
}

extension LiveStatus {
    /// Reads the figures on a read-only connection of its own (a reader
    /// never holds up the writer in WAL mode), and the live state from the
    /// services.
    static func gather(settings: LiveSettings, ingest: IngestService, hubs: [HubConfig], board: HubStatusBoard,
                       databasePath: String, startedAt: EpochMillis) throws -> LiveStatus {
        let config = settings.current
        let now = GatewayClock.now()
        let store = try GatewayStore(readOnlyPath: databasePath)
        let report = try StatusReport(database: databasePath, store: store, registry: config.registry, windows: config.windows,
                                      silentAfterIntervals: config.silentAfterIntervals, now: now)
        let readiness = ingest.readiness
        let broker = Broker(url: "\(config.tls == nil ? "mqtt" : "mqtts")://\(config.brokerHost):\(config.brokerPort)",
                            connected: ingest.isConnected, detail: readiness.detail,
                            subscriptions: config.subscriptions.map { ($0.filter.description, $0.envelope.rawValue) })
        return LiveStatus(
            report: report, startedAt: startedAt, now: now, broker: broker, intakePausedBecause: ingest.pauseReason,
            storeUsedBytes: try store.usage().usedBytes, storeBoundBytes: config.bounds.maxSizeBytes,
            hubs: hubs.map { Hub(name: $0.name, kind: $0.kindName, isPrivate: $0.settings.isPrivate, live: board[$0.name]) },
            quarantine: try store.quarantineSummary(now: now))
    }
}
