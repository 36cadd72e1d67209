import BuildInfo
import Codecs
import FoundationEssentials
import Hubs
import Logging
import MQTT
import Readings
import ServiceLifecycle
import Store
import TOML

/// The wiring: reads like the data-flow picture in DESIGN.md.
///
///     MQTT ─▶ Ingest ─▶ (SQLite) ─▶ Processing ─▶ (SQLite) ─▶ Aggregation ─▶ Delivery per hub
///
/// Start-up order: database, broker connection and subscription, then the
/// HTTP listener. Shutdown (SIGTERM/SIGINT) runs in reverse: ingest stops
/// taking uplinks, processing drains, delivery flushes, the listener closes.
public enum GatewayApp {
    public static let version = BuildInfo.version

    /// `reload` reads the config again for SIGHUP (with the same command-line
    /// overrides); by default the config file alone.
    public static func run(config: GatewayConfig, logger: Logger,
                           reload: (@Sendable () throws -> GatewayConfig)? = nil) async throws {
        let startupSignals = StartupSignals()
        logger.info("citygate starting", metadata: [
            "version": "\(version)", "commit": "\(BuildInfo.commit)", "config": "\(config.configPath)",
            "broker": "\(config.tls == nil ? "mqtt" : "mqtts")://\(config.brokerHost):\(config.brokerPort)",
            "mqtt": config.mqttProtocol == 5 ? "5" : "3.1.1",
            "database": "\(config.databasePath)", "hubs": "\(config.effectiveHubs.map { "\($0.name)(\($0.kindName))" }.joined(separator: ","))",
            "devices": "\(config.registry.count)",
        ])
        guard let lock = DatabaseLock(database: config.databasePath) else {
            throw ConfigErrors(errors: [ConfigError(file: config.configPath, key: "gateway.database", line: nil,
                                                    reason: "\(config.databasePath) is in use by another citygate (lock \(config.databasePath).lock)")])
        }
        defer { withExtendedLifetime(lock) {} }
        let store = try GatewayStore(path: config.databasePath, synchronous: config.synchronous, deduplication: config.deduplication)
        let bounds = config.storeBounds
        try store.apply(bounds)
        let hubConfigs = config.effectiveHubs
        // A hub taken out of the config keeps its backlog: say so, every start.
        for (name, waiting) in try store.undeliveredByHub().sorted(by: { $0.key < $1.key })
        where waiting > 0 && !hubConfigs.contains(where: { $0.name == name }) {
            logger.warning("a hub no longer in the config has undelivered windows; `citygate drop-hub --hub \(name)` forgets them",
                           metadata: ["hub": "\(name)", "undelivered": "\(waiting)"])
        }
        let metrics = GatewayMetrics()
        var context = ServiceContext(store: store, settings: LiveSettings(config), metrics: metrics, logger: logger)
        context.faults = .fromEnvironment()
        context.decodeGuard = try DecodeGuard(path: config.databasePath + ".decoding")
        for suspect in context.decodeGuard.leftOver {
            logger.error(suspect.strikes >= 2
                         ? "the gateway stopped again while decoding one message: it is quarantined (decoder_crash) with its bytes"
                         : "the last run stopped while decoding one message: it is decoded once more on its own, and quarantined if that stops the gateway too",
                         metadata: ["message_hash": "\(suspect.hash)", "topic": "\(BoundedText.prefix(suspect.topic, maxBytes: 200))",
                                    "stops": "\(suspect.strikes)"])
        }
        let hubContext = HubContext(gatewayID: config.gatewayID, references: StoreReferences(store: store))
        let hubs: [any Hub] = hubConfigs.map { $0.makeHub(context: hubContext) }
        metrics.prepare(hubs: hubs.map(\.name), kinds: SensorKind.allCases.map(\.rawValue),
                        envelopes: EnvelopeKind.allCases.map(\.rawValue), quarantineReasons: QuarantineReason.allCases.map(\.rawValue))
        metrics.devicesRegistered.set(Int64(config.registry.count))
        metrics.storeBoundBytes.set(config.bounds.maxSizeBytes ?? 0)

        let processorWake = WakeSignal()
        var options = MQTTOptions(host: config.brokerHost, port: config.brokerPort, clientID: config.clientID,
                                  cleanSession: config.cleanSession, keepAliveSeconds: config.keepAliveSeconds,
                                  username: config.username, password: try readPassword(config))
        options.protocolVersion = config.mqttProtocol
        options.sessionExpirySeconds = config.cleanSession ? 0 : config.sessionExpirySeconds
        options.tls = config.tls
        let ingest = try IngestService(options: options, subscriptions: config.subscriptions.map { ($0.filter.filter, config.subscribeQoS) },
                                       maxPayloadBytes: config.maxPayloadBytes, context: context, processorWake: processorWake)
        let processing = ProcessingService(context: context, wake: processorWake)
        let deliveryWakes = hubs.map { _ in WakeSignal() }
        let deliveries = zip(zip(hubs, hubConfigs), deliveryWakes).map { hub, wake in
            DeliveryService(hub: hub.0, settings: hub.1.settings, context: context, wake: wake)
        }
        let shortestWindow = config.windows.values.min() ?? 60_000
        let aggregation = AggregationService(
            context: context, hubs: hubs.map { ($0.name, $0.isPrivate) }, graceMillis: config.graceMillis,
            latenessMillis: config.latenessMillis, zoneRollups: config.zoneRollups, minimumZoneHomes: config.minimumZoneHomes,
            tick: .milliseconds(min(1000, max(100, shortestWindow / 10))), deliveryWake: deliveryWakes)
        let storageGuard = StorageGuardService(context: context, bounds: bounds, minimumFreeDiskBytes: config.minimumFreeDiskBytes,
                                               ingest: ingest, fileOutputs: hubs.compactMap { $0 as? any LocalFileOutput })

        // Connect and subscribe before anyone can see the HTTP endpoint answer.
        _ = try await ingest.connect(timeout: .seconds(10)) { startupSignals.isStopRequested }
        var services: [any Service] = []
        let notifier = SystemdNotifier()
        let watchdog = WatchdogService(notifier: notifier, store: store, decoder: processing.heartbeat, logger: logger) { [ingest] in
            ingest.summary
        }
        if let listen = config.httpListen, let (host, port) = GatewayConfig.parseListen(listen) {
            let startedAt = GatewayClock.now()
            let routes = HTTPRoutes(
                metrics: metrics, health: { [ingest] in ingest.readiness },
                status: { [settings = context.settings, board = context.hubBoard, databasePath = config.databasePath] in
                    try LiveStatus.gather(settings: settings, ingest: ingest, hubs: hubConfigs, board: board,
                                          databasePath: databasePath, startedAt: startedAt)
                },
                tokenFile: config.httpTokenFile)
            services.append(HTTPEndpointService(host: host, port: port, routes: routes, logger: logger))
        }
        // Shutdown runs in reverse order of this list.
        services += deliveries as [any Service]
        services += [storageGuard, aggregation, processing, ingest] as [any Service]
        // Last in the list: the first told to stop, so STOPPING=1 goes out at
        // once (systemd does not watch a stopping service; TimeoutStopSec does).
        services.append(watchdog)
        services.append(SilenceWatchService(context: context))
        services.append(ReloadService(settings: context.settings, logger: logger, load: reload ?? { [path = config.configPath] in
            try GatewayConfig.load(path: path)
        }))
        // A service that fails (the HTTP port taken, say) shuts the others
        // down gracefully: intake stops, what was committed is decoded, and
        // the error reaches `run`, which logs it and exits non-zero. By
        // default the group would cancel them instead, and services that end
        // on a graceful shutdown do not all end on a cancellation: the
        // process hung without a word (found with a port another process held).
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0, failureTerminationBehavior: .gracefullyShutdownGroup) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            cancellationSignals: [],
            logger: logger))
        // Ready once config and database are up and the broker was tried: a
        // broker that is down at boot is waited out in the background (its
        // state is in STATUS= and /health/ready), not a start timeout.
        notifier.notify("READY=1\nSTATUS=" + ingest.summary)
        await startupSignals.handOver(to: group)
        try await group.run()
        logger.info("citygate stopped", metadata: ["database": "\(config.databasePath)"])
    }

    /// Decodes every pending uplink now, in this process (for `requeue` when
    /// no daemon is running). Returns how many were processed.
    public static func processPending(config: GatewayConfig, store: GatewayStore, logger: Logger) throws -> Int {
        let context = ServiceContext(store: store, settings: LiveSettings(config), metrics: GatewayMetrics(), logger: logger)
        let processing = ProcessingService(context: context, wake: WakeSignal())
        var total = 0
        while true {
            let count = try processing.processBatch()
            total += count
            if count == 0 { return total }
        }
    }

    static func readPassword(_ config: GatewayConfig) throws -> String? {
        guard let file = config.passwordFile else { return nil }
        do {
            return PlainText.trimmingWhitespace(try String(contentsOfFile: file, encoding: .utf8))
        } catch {
            throw ConfigErrors(errors: [ConfigError(file: config.configPath, key: "mqtt.password_file", line: nil, reason: "cannot read \(file)")])
        }
    }
}
