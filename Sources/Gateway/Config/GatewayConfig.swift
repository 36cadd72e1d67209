import Aggregation
import Codecs
import FoundationEssentials
import Hubs
import MQTT
import Readings
import Store
import TOML
import Uplink

/// The whole configuration of one gateway: `citygate.toml`, the device
/// registry it names, and command-line overrides. Every key is documented in
/// `Config/citygate.toml`.
public struct GatewayConfig: Sendable {
    public typealias Subscription = Uplink.Subscription

    public var configPath: String
    public var gatewayID = "citygate"
    public var stateDirectory: String
    public var databasePath: String
    public var registryPath: String
    public var logLevel = "info"
    /// How lines are written outside journald (`[log] format`).
    public var logFormat = LogFormat.text
    /// What loading did not check, and why (not errors).
    public var notes: [ConfigError] = []
    public var synchronous = GatewayStore.Synchronous.normal
    public var deduplication = DeduplicationPolicy()
    public var bounds = StoreBounds()
    /// Intake pauses when the disk holding the database has less free space.
    public var minimumFreeDiskBytes: Int64 = 64 << 20

    public var brokerHost = "127.0.0.1"
    public var brokerPort = 1883
    public var clientID = "citygate"
    public var cleanSession = false
    public var keepAliveSeconds = 30
    public var subscribeQoS = 1
    /// A message larger than this is quarantined as `oversized` (length,
    /// SHA-256 and its first 4 KiB kept). A ChirpStack event with three
    /// gateways' reception is about 3 KB.
    public var maxPayloadBytes = 64 << 10
    public var username: String?
    public var passwordFile: String?
    public var subscriptions: [Subscription] = []
    /// 4 = MQTT 3.1.1, 5 = MQTT 5.
    public var mqttProtocol = 4
    /// MQTT 5 session expiry: how long the broker keeps our queue while we are away.
    public var sessionExpirySeconds: UInt32 = 7 * 86_400
    /// TLS to the broker (an `mqtts://` URL or a `ca_file`).
    public var tls: MQTTTLS?

    /// `host:port` of the Prometheus/health listener; nil = off.
    public var httpListen: String? = "127.0.0.1:9464"
    /// `[http] token_file` (or `token_credential`): the bearer token the page,
    /// `/api/status` and `/metrics` ask for; `/health` stays open.
    public var httpTokenFile: String?
    /// `[http] allow_unauthenticated`: serve beyond loopback without a token, on purpose.
    public var httpAllowUnauthenticated = false

    /// Window length per sensor kind, milliseconds.
    public var windows: [SensorKind: Int64] = [
        .airQuality: 15 * 60_000, .parking: 5 * 60_000, .damp: 3_600_000, .wasteBin: 3_600_000, .generic: 15 * 60_000,
    ]
    /// How long after its end a window waits for stragglers before it is closed.
    public var graceMillis: Int64 = 60_000
    /// Device/network time is used for windowing when within this of the gateway clock.
    public var maxClockSkewMillis: Int64 = 5 * 60_000
    /// A history record older than this when it arrives is set aside (a device clock reset to 1970).
    public var maxBackfillMillis: Int64 = 7 * 86_400_000
    /// A reading that arrives after its window closed but within this re-opens
    /// it (the hub gets an update); later, it is stored and counted only.
    public var latenessMillis: Int64 = 3_600_000
    /// Roll windows up per zone (and per station for air quality).
    public var zoneRollups = true
    /// A public hub gets damp only as zone roll-ups over at least this many homes.
    public var minimumZoneHomes = 5
    /// A device is silent after this many of its reporting intervals without an uplink (0: off).
    public var silentAfterIntervals = 3

    public var hubs: [HubConfig] = []
    public var registry = DeviceRegistry(devices: [])
    /// Built-in codecs plus the layout files under the codec directory.
    public var catalog = CodecCatalog.builtIn
    public var codecDirectory = ""

    /// Paths the config does not set default to the state directory:
    /// `$STATE_DIRECTORY` under systemd, else `./state`.
    static func defaultStateDirectory() -> String {
        if let fromSystemd = ProcessInfo.processInfo.environment["STATE_DIRECTORY"], !fromSystemd.isEmpty {
            // systemd passes a colon-separated list when several are configured.
            return String(fromSystemd.split(separator: ":").first ?? "state")
        }
        return "state"
    }

    /// Loads and validates a config file and its device registry. Throws
    /// `ConfigErrors` listing every problem found.
    /// `credentialsLater`: see `ConfigIssues.credentialsLater` (the skipped
    /// keys are in `notes`).
    public static func load(path: String, catalog: CodecCatalog = .builtIn,
                            environment: [String: String] = ProcessInfo.processInfo.environment,
                            credentialsLater: Bool = false) throws -> GatewayConfig {
        let issues = ConfigIssues(environment: environment, credentialsLater: credentialsLater)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigErrors(errors: [ConfigError(file: path, key: "", line: nil, reason: "cannot read the file")])
        }
        let document: TOMLTable
        do {
            document = try TOMLParser.parse(text)
        } catch {
            throw ConfigErrors(errors: [ConfigError(file: path, key: "", line: error.line, reason: "syntax: \(error.message) (column \(error.column))")])
        }
        var config = GatewayConfig(configPath: path, stateDirectory: defaultStateDirectory(), databasePath: "", registryPath: "")
        let baseDirectory = PathText.directory(of: path)
        var root = TableReader(table: document, path: "", file: path, issues: issues)

        readGateway(&root, into: &config, baseDirectory: baseDirectory)
        readStore(&root, into: &config)
        readMQTT(&root, into: &config, baseDirectory: baseDirectory)
        readHTTP(&root, into: &config, baseDirectory: baseDirectory)
        readLog(&root, into: &config)
        readAggregation(&root, into: &config)
        readHubs(&root, into: &config, baseDirectory: baseDirectory)
        root.finish()

        if config.subscriptions.isEmpty { config.subscriptions = Subscription.defaults }
        if config.registryPath.isEmpty { config.registryPath = TableReader.resolve("devices.toml", against: baseDirectory) }
        if config.codecDirectory.isEmpty { config.codecDirectory = TableReader.resolve("codecs", against: baseDirectory) }
        config.catalog = catalog
        LayoutCodecFile.loadDirectory(config.codecDirectory, into: &config.catalog, issues: issues)
        let registry = DeviceRegistryFile.load(path: config.registryPath, catalog: config.catalog, issues: issues)
        config.registry = registry
        if config.bounds.readingRetentionMillis < config.latenessMillis {
            issues.errors.append(ConfigError(file: path, key: "store.reading_retention", line: nil, reason:
                "\(Window.isoDuration(config.bounds.readingRetentionMillis)) is shorter than [aggregation] lateness (\(Window.isoDuration(config.latenessMillis))): a late reading would revise a window from what is left of it"))
        }
        checkIntervals(registry, file: config.registryPath, against: config.deduplication, issues: issues)
        HubPositionCheck.check(registry, hubs: config.hubs, file: config.registryPath, issues: issues)
        if !issues.errors.isEmpty { throw ConfigErrors(errors: issues.errors) }
        config.notes = issues.notes
        config.resolveDefaults()
        return config
    }

    /// A device that reports more often than `uncounted_duplicate_window`
    /// would have its repeated frames (a counterless sensor whose value stays
    /// the same) taken for transport retries and dropped.
    static func checkIntervals(_ registry: DeviceRegistry, file: String, against policy: DeduplicationPolicy, issues: ConfigIssues) {
        let window = policy.uncountedWindowMillis
        let tooShort = registry.devices.values.filter { ($0.reportingIntervalMillis ?? .max) < window }.map(\.id).sorted()
        guard let first = tooShort.first else { return }
        let more = tooShort.count > 1 ? " (and \(tooShort.count - 1) more device(s))" : ""
        issues.errors.append(ConfigError(file: file, key: "device \(first) interval", line: nil, reason:
            "\(Window.isoDuration(registry.devices[first]?.reportingIntervalMillis ?? 0)) is shorter than [store] uncounted_duplicate_window (\(Window.isoDuration(window)))\(more): its repeated frames would be taken for transport retries"))
    }

    /// Fills in what depends on the state directory.
    mutating func resolveDefaults() {
        if databasePath.isEmpty { databasePath = PathText.join(stateDirectory, "citygate.sqlite") }
    }

    /// The store's bounds with how long a window stays revisable (grace plus
    /// lateness, which `--window` may change): its readings stay until then.
    public var storeBounds: StoreBounds {
        var bounds = self.bounds
        bounds.revisableMillis = WindowClosing(graceMillis: graceMillis, latenessMillis: latenessMillis).revisableMillis
        return bounds
    }

    /// The hubs in effect: the configured ones, or the file output in the
    /// state directory when none is configured.
    public var effectiveHubs: [HubConfig] {
        if !hubs.isEmpty { return hubs }
        return [HubConfig(settings: HubSettings(name: "file", url: PathText.join(stateDirectory, "aggregates")),
                          kind: FileHubKind())]
    }

    /// A listener beyond loopback shows the city's figures to the network:
    /// it needs a token, or the operator's explicit word that none is wanted.
    public var httpAuthProblem: String? {
        guard let listen = httpListen, let (host, _) = Self.parseListen(listen), !Self.isLoopback(host) else { return nil }
        if httpTokenFile != nil || httpAllowUnauthenticated { return nil }
        return "'\(listen)' is reachable beyond this machine: give [http] token_file (a bearer token for the page, /api/status and /metrics; /health stays open), or allow_unauthenticated = true"
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    public static func parseListen(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        let host = String(text[..<colon])
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        return (host, port)
    }
}

/// Log level names accepted in config and `--log-level`.
public enum LogLevelName {
    public static let all = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
}
