import ArgumentParser
import Codecs
import Foundation
import Gateway
import Logging
import Readings
import Store

@main
struct CityGate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "citygate",
        abstract: "Edge gateway: LoRaWAN/NB-IoT uplinks from MQTT → fixed-point readings in SQLite → windowed aggregates to an open-data hub.",
        version: GatewayApp.version,
        subcommands: [Run.self, CheckConfig.self, Decode.self, Status.self, Requeue.self, Redeliver.self, BenchmarkStore.self])
}

/// EX_CONFIG from sysexits.h: systemd's RestartPreventExitStatus=78 keeps a
/// bad config from restart-looping.
let exitConfig: Int32 = 78

func loadConfig(_ path: String) throws -> GatewayConfig {
    do {
        return try GatewayConfig.load(path: path)
    } catch let errors as ConfigErrors {
        for error in errors.errors { FileHandle.standardError.write(Data("config error: \(error)\n".utf8)) }
        throw ExitCode(exitConfig)
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway until SIGTERM or SIGINT.")

    @Option(help: "Path of citygate.toml.") var config: String = "Config/citygate.toml"
    @Option(help: "Broker URL, mqtt://HOST:PORT (overrides [mqtt] broker).") var broker: String?
    @Option(help: "SQLite database path (overrides [gateway] database).") var database: String?
    @Option(name: .customLong("http-listen"), help: "HOST:PORT for /metrics and /health; empty to disable.") var httpListen: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.") var logLevel: String?
    @Option(help: "Override every window length, e.g. 10s (grace scales with it).") var window: String?
    @Option(help: "Add a hub, KIND=URL with KIND sensorthings or file (repeatable).") var hub: [String] = []

    func run() async throws {
        var settings = try loadConfig(config)
        var overrides = GatewayOverrides()
        overrides.broker = broker
        overrides.database = database
        overrides.httpListen = httpListen
        overrides.logLevel = logLevel
        var errors: [String] = []
        if let window {
            if let millis = DurationText.parseMillis(window), millis >= 100 { overrides.windowMillis = millis }
            else { errors.append("--window: '\(window)' is not a duration of at least 100ms") }
        }
        for item in hub {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2, let kind = GatewayConfig.HubKind(rawValue: parts[0]), !parts[1].isEmpty {
                overrides.hubs.append((kind, parts[1]))
            } else {
                errors.append("--hub: '\(item)' is not KIND=URL with KIND one of \(GatewayConfig.HubKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        errors += overrides.apply(to: &settings)
        if !errors.isEmpty {
            for error in errors { FileHandle.standardError.write(Data("config error: \(error)\n".utf8)) }
            throw ExitCode(exitConfig)
        }
        LineLogHandler.bootstrap(level: Logger.Level(rawValue: settings.logLevel) ?? .info)
        let logger = Logger(label: "citygate")
        do {
            try await GatewayApp.run(config: settings, logger: logger) { [config, overrides] in
                var reloaded = try GatewayConfig.load(path: config)
                _ = overrides.apply(to: &reloaded)  // they parsed at start, so they apply again
                return reloaded
            }
        } catch let error as ConfigErrors {
            for item in error.errors { logger.critical("config error", metadata: ["error": "\(item)"]) }
            throw ExitCode(exitConfig)
        } catch {
            logger.critical("citygate failed", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate the config and device registry; print every error; exit 78 if any.")

    @Option(help: "Path of citygate.toml.") var config: String = "Config/citygate.toml"

    func run() throws {
        let settings = try loadConfig(config)
        print("ok: \(config): \(settings.registry.count) devices, \(settings.subscriptions.count) subscriptions, hubs: \(settings.effectiveHubs.map(\.name).joined(separator: ", "))")
    }
}

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode one payload (HEX) or one envelope document (--envelope KIND FILE) and print the readings as JSON.")

    @Option(help: "Codec id (e.g. elsys, milesight:em310-udl, cayenne-lpp). With --envelope, defaults to the registry's choice.") var codec: String?
    @Option(help: "LoRaWAN fPort (payload mode).") var fport: Int?
    @Option(help: "Envelope of FILE: chirpstack, tts or nbiot.") var envelope: String?
    @Option(help: "MQTT topic the document came on (envelope mode).") var topic: String?
    @Option(help: "Config whose registry and codec files to use.") var config: String = "Config/citygate.toml"
    @Argument(help: "Payload as hex, or with --envelope the document's file.") var input: String

    func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("cannot decode: \(message)\n".utf8))
        return ExitCode.failure
    }

    func run() throws {
        // Layout codecs and the registry come from the config when it loads.
        let settings = try? GatewayConfig.load(path: config)
        let catalog = settings?.catalog ?? CodecCatalog.builtIn
        var payload: [UInt8]
        var port = fport
        var codecID = codec
        var header: [(String, JSONText)] = []
        if let envelope {
            guard let kind = EnvelopeKind(rawValue: envelope) else { throw fail("envelope '\(envelope)' is not chirpstack, tts or nbiot") }
            guard let data = FileManager.default.contents(atPath: input) else { throw fail("cannot read \(input)") }
            let parsed: EnvelopeEvent
            do {
                parsed = try kind.parser.parse(topic: topic ?? "", message: Array(data))
            } catch {
                throw fail("\(kind.rawValue) envelope: \(error)")
            }
            guard case let .uplink(uplink) = parsed else {
                if case let .event(type, device, _) = parsed {
                    print(JSONText.object([("event", .string(type)), ("device", device.map { .string($0) } ?? .null), ("readings", .array([])), ("notes", .array([]))]).serialized())
                }
                return
            }
            payload = uplink.payload
            port = uplink.fPort
            header = [("device", .string(uplink.device)), ("fCnt", uplink.fCnt.map { .integer(Int64($0)) } ?? .null),
                      ("fPort", uplink.fPort.map { .integer(Int64($0)) } ?? .null)]
            if codecID == nil {
                codecID = settings?.registry.resolve(uplink.device, deviceProfile: uplink.deviceProfileName, topic: topic ?? "")?.codecID
            }
            guard codecID != nil else { throw fail("device \(uplink.device) is not in the registry of \(config); give --codec") }
        } else {
            guard let bytes = Hex.decode(input.filter { !$0.isWhitespace }) else { throw fail("'\(input)' is not hex") }
            payload = bytes
        }
        guard let codecID else { throw fail("give --codec ID (or --envelope KIND FILE)") }
        guard let decoder = catalog.codec(codecID) else {
            throw fail("unknown codec '\(codecID)'; known: \(catalog.ids.joined(separator: ", "))")
        }
        do {
            let result = try decoder.decode(payload, fPort: port)
            let readings = result.values.map { value -> JSONText in
                var members: [(String, JSONText)] = [("metric", .string(value.metric.name))]
                if let channel = value.channel { members.append(("channel", .integer(Int64(channel)))) }
                members += [("value", .string(value.decimalText)), ("unit", .string(value.metric.unitCode))]
                if let time = value.time { members.append(("time", .string(RFC3339.format(time)))) }
                return .object(members)
            }
            print(JSONText.object(header + [("codec", .string(codecID)), ("readings", .array(readings)),
                                            ("notes", .array(result.noteTexts.map { .string($0) }))]).serialized())
        } catch {
            throw fail("\(codecID): \(error)")
        }
    }
}

struct Requeue: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode quarantined uplinks again, after a codec or registry fix.",
        discussion: """
            Moves the matching quarantine rows back to pending in one short transaction (a running \
            daemon's intake waits for it through SQLite's lock, then the daemon decodes them within a \
            second). With no daemon running on the database, this command decodes them itself with the \
            config's current codecs and registry. An uplink that fails again is quarantined again.
            """)

    @Option(help: "Path of citygate.toml (codecs and registry to decode with).") var config: String = "Config/citygate.toml"
    @Option(help: "SQLite database path (overrides the config).") var database: String?
    @Option(help: "Only uplinks quarantined for this reason (e.g. unknown_device).") var reason: String?
    @Option(help: "Only uplinks of this device.") var device: String?

    func run() throws {
        var settings = try loadConfig(config)
        if let database { settings.databasePath = database }
        LineLogHandler.bootstrap(level: .warning)
        let logger = Logger(label: "citygate-requeue")
        do {
            let store = try GatewayStore(path: settings.databasePath, synchronous: settings.synchronous)
            store.deduplication = settings.deduplication
            let moved = try store.requeueQuarantined(reason: reason, device: device?.lowercased())
            if let lock = DatabaseLock(database: settings.databasePath) {
                let processed = try GatewayApp.processPending(config: settings, store: store, logger: logger)
                let quarantined = try store.statistics().quarantined
                withExtendedLifetime(lock) {}
                print("requeued \(moved) uplink(s); no daemon running, decoded \(processed) pending uplink(s) here; \(quarantined) quarantined now")
            } else {
                print("requeued \(moved) uplink(s); the running daemon decodes them")
            }
        } catch {
            FileHandle.standardError.write(Data("requeue failed: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}

struct Redeliver: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a hub's dead-lettered windows again, after the hub or the mapping was fixed.",
        discussion: """
            Moves the hub's dead-lettered deliveries back to pending in one short transaction; a running \
            daemon sends them within a second (oldest window first), or the next start does. The hub's \
            earlier answers are kept in the ledger until a new attempt replaces them.
            """)

    @Option(help: "Path of citygate.toml.") var config: String = "Config/citygate.toml"
    @Option(help: "SQLite database path (overrides the config).") var database: String?
    @Option(help: "The hub's name in the config (see citygate status).") var hub: String

    func run() throws {
        var settings = try loadConfig(config)
        if let database { settings.databasePath = database }
        do {
            let store = try GatewayStore(path: settings.databasePath, synchronous: settings.synchronous)
            let known = try store.statistics().hubs.keys
            guard known.contains(hub) || settings.effectiveHubs.contains(where: { $0.name == hub }) else {
                FileHandle.standardError.write(Data("redeliver: no hub named '\(hub)' in the config or the ledger (known: \(known.sorted().joined(separator: ", ")))\n".utf8))
                throw ExitCode.failure
            }
            let moved = try store.redeliverDeadLettered(hub: hub, now: GatewayClock.now())
            print("\(moved) dead-lettered window(s) queued again for hub \(hub)")
        } catch let exit as ExitCode {
            throw exit
        } catch {
            FileHandle.standardError.write(Data("redeliver failed: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}

/// For Benchmarks/ingest-vs-broker.sh: the store's commit path against a raw
/// SQLite insert loop. Not for operators, so not listed in --help.
struct BenchmarkStore: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "benchmark-store", shouldDisplay: false)

    @Option(help: "Scratch directory (two databases are written there).") var directory: String
    @Option(help: "Messages to commit.") var count: Int = 50_000
    @Option(help: "Size of each message in bytes.") var size: Int = 1300

    func run() throws {
        let figures = try StoreBenchmark.run(directory: directory, count: count, message: [UInt8](repeating: 0x7B, count: max(1, size)))
        print("store \(figures.storeSeconds) raw \(figures.rawSeconds)")
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read the database (read-only, safe while the daemon runs) and print its figures.")

    @Option(help: "Path of citygate.toml.") var config: String = "Config/citygate.toml"
    @Option(help: "SQLite database path (overrides the config).") var database: String?
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let settings = try? GatewayConfig.load(path: config)
        let path: String
        if let database { path = database } else { path = try loadConfig(config).databasePath }
        let statistics: StoreStatistics
        let activity: [DeviceID: (uplinks: Int64, lastSeen: EpochMillis)]
        do {
            let store = try GatewayStore(readOnlyPath: path)
            statistics = try store.statistics()
            activity = try store.deviceActivity()
        } catch {
            FileHandle.standardError.write(Data("cannot read \(path): \(error)\n".utf8))
            throw ExitCode.failure
        }
        // Devices per kind: registered ones from the config's registry, plus devices seen but not registered.
        let registry = settings?.registry
        var kinds: [String: (registered: Int, seen: Int)] = [:]
        for device in registry?.devices.values.map({ $0 }) ?? [] {
            kinds[device.kind.rawValue, default: (0, 0)].registered += 1
            if activity[device.id] != nil { kinds[device.kind.rawValue, default: (0, 0)].seen += 1 }
        }
        let unregistered = activity.keys.filter { registry?.device($0) == nil }.sorted()
        let silent = settings.map {
            SilentDevices.find(registry: $0.registry, windows: $0.windows, lastSeen: activity.mapValues(\.lastSeen),
                               now: GatewayClock.now(), multiple: $0.silentAfterIntervals)
        } ?? (silent: [], neverSeen: [])
        if json {
            let devices = activity.keys.sorted().map { id -> (String, JSONText) in
                (id, .object([("kind", .string(registry?.device(id)?.kind.rawValue ?? "unregistered")),
                              ("uplinks", .integer(activity[id]!.uplinks)), ("last_seen", .string(RFC3339.format(activity[id]!.lastSeen)))]))
            }
            let kindObjects = kinds.keys.sorted().map { ($0, JSONText.object([("registered", .integer(Int64(kinds[$0]!.registered))), ("seen", .integer(Int64(kinds[$0]!.seen)))])) }
            let hubs = statistics.hubs.keys.sorted().map { name -> (String, JSONText) in
                let hub = statistics.hubs[name]!
                return (name, .object([
                    ("backlog", .integer(hub.backlog)), ("delivered", .integer(hub.delivered)), ("dead_lettered", .integer(hub.deadLettered)),
                    ("oldest_undelivered", hub.oldestUndelivered.map { .string(RFC3339.format($0)) } ?? .null),
                ]))
            }
            print(JSONText.object([
                ("database", .string(path)),
                ("uplinks_stored", .integer(statistics.uplinksStored)),
                ("uplinks_pending", .integer(statistics.uplinksPending)),
                ("readings_stored", .integer(statistics.readingsStored)),
                ("readings_too_late", .integer(statistics.readingsTooLate)),
                ("duplicates", .integer(statistics.duplicates)),
                ("quarantined", .integer(statistics.quarantined)),
                ("aggregates", .integer(statistics.aggregates)),
                ("hubs", .object(hubs)),
                ("kinds", .object(kindObjects)),
                ("silent_devices", .array(silent.silent.map { entry in
                    .object([("id", .string(entry.device)), ("last_seen", .string(RFC3339.format(entry.lastSeen))),
                             ("expected_interval", .string(Window.isoDuration(entry.expectedIntervalMillis)))])
                })),
                ("never_seen_devices", .integer(Int64(silent.neverSeen.count))),
                ("devices", .object(devices)),
            ]).serialized())
        } else {
            print("database      \(path)")
            print("uplinks       \(statistics.uplinksStored) stored, \(statistics.uplinksPending) pending")
            print("readings      \(statistics.readingsStored) (\(statistics.readingsTooLate) too late to aggregate)")
            print("duplicates    \(statistics.duplicates)")
            print("quarantined   \(statistics.quarantined)")
            print("aggregates    \(statistics.aggregates)")
            for (kind, figures) in kinds.sorted(by: { $0.key < $1.key }) {
                print("kind \(kind): \(figures.registered) registered, \(figures.seen) seen")
            }
            if !unregistered.isEmpty { print("unregistered devices seen: \(unregistered.count)") }
            for entry in silent.silent.prefix(50) {
                print("SILENT device \(entry.device): last seen \(RFC3339.format(entry.lastSeen)), reports every \(Window.isoDuration(entry.expectedIntervalMillis))")
            }
            if !silent.neverSeen.isEmpty { print("registered devices never seen: \(silent.neverSeen.count)") }
            for (id, seen) in activity.sorted(by: { $0.value.lastSeen > $1.value.lastSeen }).prefix(20) {
                print("device \(id): \(seen.uplinks) uplinks, last seen \(RFC3339.format(seen.lastSeen))\(registry?.device(id) == nil ? " (not registered)" : "")")
            }
            for (name, hub) in statistics.hubs.sorted(by: { $0.key < $1.key }) {
                print("hub \(name): \(hub.delivered) delivered, \(hub.backlog) backlog, \(hub.deadLettered) dead-lettered, oldest undelivered \(hub.oldestUndelivered.map(RFC3339.format) ?? "-")")
            }
        }
    }
}
