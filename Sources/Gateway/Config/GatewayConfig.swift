import Codecs
import Foundation
import Hub
import MQTT
import Readings
import Store
import TOML

/// The whole configuration of one gateway: `citygate.toml`, the device
/// registry it names, and command-line overrides. Every key is documented in
/// `Config/citygate.toml`.
public struct GatewayConfig: Sendable {
    public struct Subscription: Sendable, Equatable {
        public var filter: TopicFilter
        public var envelope: EnvelopeKind
    }

    public enum HubKind: String, Sendable, CaseIterable {
        case ngsiLD = "ngsi-ld", sensorthings, file
    }

    public struct HubConfig: Sendable, Equatable {
        public var name: String
        public var kind: HubKind
        /// Service root (SensorThings, with the version), broker base URL
        /// (NGSI-LD) or a directory (file).
        public var url: String
        public var isPrivate: Bool
        public var batchSize: Int
        public var timeoutSeconds: Int
        /// The longest pause between delivery attempts (backoff cap).
        public var retryMaxMillis: Int64 = 60_000
        /// A batch that is not full waits at most this long for more windows.
        public var batchWaitMillis: Int64 = 0
        public var auth: HubAuth = .none
        /// NGSI-LD: `NGSILD-Tenant`; nil = the default tenant.
        public var tenant: String?
        /// NGSI-LD: @context URLs by domain (defaults: the Smart Data Models on GitHub).
        public var contexts: NGSILDContexts = .init()
        /// File output: day files older than this many days are deleted; nil keeps them.
        public var retentionDays: Int?
    }

    public var configPath: String
    public var gatewayID = "citygate"
    public var stateDirectory: String
    public var databasePath: String
    public var registryPath: String
    public var logLevel = "info"
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

    /// Window length per sensor kind, milliseconds.
    public var windows: [SensorKind: Int64] = [
        .airQuality: 15 * 60_000, .parking: 5 * 60_000, .damp: 3_600_000, .wasteBin: 3_600_000, .generic: 15 * 60_000,
    ]
    /// How long after its end a window waits for stragglers before it is closed.
    public var graceMillis: Int64 = 60_000
    /// Device/network time is used for windowing when within this of the gateway clock.
    public var maxClockSkewMillis: Int64 = 5 * 60_000
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

    static let defaultSubscriptions = [
        Subscription(filter: TopicFilter("application/+/device/+/event/+")!, envelope: .chirpstack),
        Subscription(filter: TopicFilter("v3/+/devices/+/up")!, envelope: .tts),
    ]

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
    public static func load(path: String, catalog: CodecCatalog = .builtIn,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> GatewayConfig {
        let issues = ConfigIssues(environment: environment)
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
        let baseDirectory = (path as NSString).deletingLastPathComponent
        var root = TableReader(table: document, path: "", file: path, issues: issues)

        if var gateway = root.table("gateway") {
            if let id = gateway.string("id") {
                if id.isEmpty || id.count > 64 { gateway.fail("id", "must be 1 to 64 characters") } else { config.gatewayID = id }
            }
            if let directory = gateway.string("state_directory"), !directory.isEmpty { config.stateDirectory = directory }
            if let database = gateway.string("database"), !database.isEmpty { config.databasePath = database }
            if let registry = gateway.string("device_registry") { config.registryPath = resolve(registry, against: baseDirectory) }
            if let codecs = gateway.string("codec_directory") { config.codecDirectory = resolve(codecs, against: baseDirectory) }
            if let level = gateway.string("log_level", oneOf: LogLevelName.all) { config.logLevel = level }
            if let sync = gateway.string("synchronous", oneOf: ["normal", "full"]) { config.synchronous = sync == "full" ? .full : .normal }
            if let multiple = gateway.integer("silent_after_intervals", in: 0...1000) { config.silentAfterIntervals = Int(multiple) }
            gateway.finish()
        }
        if var store = root.table("store") {
            if let window = store.duration("duplicate_window", in: 60_000...30 * 86_400_000) { config.deduplication.frameWindowMillis = window }
            if let below = store.integer("session_reset_below", in: 0...65_535) { config.deduplication.sessionResetBelow = UInt32(below) }
            if let window = store.duration("uncounted_duplicate_window", in: 0...30 * 86_400_000) { config.deduplication.uncountedWindowMillis = window }
            if let size = store.byteSize("max_size", in: 1 << 20...1 << 44) { config.bounds.maxSizeBytes = size }
            if let retention = store.duration("raw_retention", in: 3_600_000...3650 * 86_400_000) { config.bounds.rawRetentionMillis = retention }
            if let retention = store.duration("reading_retention", in: 3_600_000...3650 * 86_400_000) { config.bounds.readingRetentionMillis = retention }
            if let free = store.byteSize("min_free_disk", in: 0...1 << 40) { config.minimumFreeDiskBytes = free }
            if config.bounds.rawRetentionMillis > config.bounds.readingRetentionMillis {
                store.fail("raw_retention", "must not be longer than reading_retention (raw uplinks are the parents of their readings)")
            }
            store.finish()
        }
        if var mqtt = root.table("mqtt") {
            var useTLS = false
            if let broker = mqtt.string("broker") {
                if let parsed = MQTTOptions.parseBrokerURL(broker) {
                    config.brokerHost = parsed.host; config.brokerPort = parsed.port; useTLS = parsed.tls
                } else { mqtt.fail("broker", "'\(broker)' is not mqtt://HOST[:PORT] or mqtts://HOST[:PORT]") }
            }
            if let version = mqtt.string("protocol", oneOf: ["3.1.1", "5"]) { config.mqttProtocol = version == "5" ? 5 : 4 }
            if let expiry = mqtt.duration("session_expiry", in: 0...4_294_967_295_000) { config.sessionExpirySeconds = UInt32(expiry / 1000) }
            let caFile = mqtt.string("ca_file").map { resolve($0, against: baseDirectory) }
            let caPath = mqtt.string("ca_path").map { resolve($0, against: baseDirectory) }
            let certFile = mqtt.string("cert_file").map { resolve($0, against: baseDirectory) }
            let keyFile = mqtt.string("key_file").map { resolve($0, against: baseDirectory) }
            let verify = mqtt.bool("tls_verify") ?? true
            if (certFile == nil) != (keyFile == nil) { mqtt.fail(certFile == nil ? "cert_file" : "key_file", "cert_file and key_file go together") }
            for (key, path) in [("ca_file", caFile), ("cert_file", certFile), ("key_file", keyFile)] {
                if let path, !FileManager.default.isReadableFile(atPath: path) { mqtt.fail(key, "cannot read \(path)") }
            }
            if useTLS || caFile != nil || caPath != nil || certFile != nil {
                config.tls = MQTTTLS(caFile: caFile, caPath: caPath, certFile: certFile, keyFile: keyFile, verifyPeer: verify)
            }
            if let id = mqtt.string("client_id") {
                if id.isEmpty || id.utf8.count > 23 * 4 { mqtt.fail("client_id", "must be 1 to 92 bytes") } else { config.clientID = id }
            }
            if let clean = mqtt.bool("clean_session") { config.cleanSession = clean }
            if let keepAlive = mqtt.integer("keepalive_seconds", in: 5...3600) { config.keepAliveSeconds = Int(keepAlive) }
            if let qos = mqtt.integer("qos", in: 0...1) { config.subscribeQoS = Int(qos) }
            config.username = mqtt.string("username")
            config.passwordFile = mqtt.secretFile("password", baseDirectory: baseDirectory)
            var subscriptions: [Subscription] = []
            for var item in mqtt.tables("subscription") {
                let topic = item.string("topic")
                let envelope = item.string("envelope", oneOf: EnvelopeKind.allCases.map(\.rawValue))
                if topic == nil { item.fail("topic", "required") }
                if envelope == nil && item.table["envelope"] == nil { item.fail("envelope", "required") }
                if let topic, let envelope {
                    if let filter = TopicFilter(topic) { subscriptions.append(Subscription(filter: filter, envelope: EnvelopeKind(rawValue: envelope)!)) }
                    else { item.fail("topic", "'\(topic)' is not a valid MQTT topic filter") }
                }
                item.finish()
            }
            if !subscriptions.isEmpty { config.subscriptions = subscriptions }
            mqtt.finish()
        }
        if var http = root.table("http") {
            if let listen = http.string("listen") {
                if listen.isEmpty { config.httpListen = nil }
                else if parseListen(listen) == nil { http.fail("listen", "'\(listen)' is not HOST:PORT") }
                else { config.httpListen = listen }
            }
            http.finish()
        }
        if var aggregation = root.table("aggregation") {
            if var windows = aggregation.table("windows") {
                for kind in SensorKind.allCases {
                    if let millis = windows.duration(kind.rawValue, in: 1000...86_400_000) { config.windows[kind] = millis }
                }
                windows.finish()
            }
            if let grace = aggregation.duration("grace", in: 0...86_400_000) { config.graceMillis = grace }
            if let skew = aggregation.duration("max_clock_skew", in: 0...7 * 86_400_000) { config.maxClockSkewMillis = skew }
            if let lateness = aggregation.duration("lateness", in: 0...30 * 86_400_000) { config.latenessMillis = lateness }
            if let rollups = aggregation.bool("zone_rollups") { config.zoneRollups = rollups }
            aggregation.finish()
        }
        if var privacy = root.table("privacy") {
            if let k = privacy.integer("min_zone_homes", in: 2...1000) { config.minimumZoneHomes = Int(k) }
            privacy.finish()
        }
        var names: Set<String> = []
        for var hub in root.tables("hub") {
            let name = hub.string("name")
            let kind = hub.string("kind", oneOf: HubKind.allCases.map(\.rawValue)).flatMap(HubKind.init(rawValue:))
            let url = hub.string("url")
            let isPrivate = hub.bool("private") ?? false
            let batch = hub.integer("batch_size", in: 1...10_000) ?? 500
            let timeout = hub.integer("timeout_seconds", in: 1...300) ?? 10
            let retryMax = hub.duration("retry_max", in: 100...3_600_000) ?? 60_000
            let batchWait = hub.duration("batch_wait", in: 0...3_600_000) ?? 0
            let tenant = hub.string("tenant")
            let retention = hub.integer("retention_days", in: 1...36_500)
            var contexts = NGSILDContexts()
            if let url = hub.string("context_environment") { contexts.environment = url }
            if let url = hub.string("context_waste") { contexts.wasteManagement = url }
            if let url = hub.string("context_parking") { contexts.parking = url }
            if let url = hub.string("context_core") { contexts.core = url }
            let auth = HubAuth.read(from: &hub, baseDirectory: baseDirectory)
            if name == nil { hub.fail("name", "required") }
            if kind == nil && hub.table["kind"] == nil { hub.fail("kind", "required (\(HubKind.allCases.map(\.rawValue).joined(separator: ", ")))") }
            if url == nil { hub.fail("url", "required") }
            if let name {
                if !names.insert(name).inserted { hub.fail("name", "hub '\(name)' is defined twice") }
            }
            if let name, let kind, let url {
                if kind != .file && !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
                    hub.fail("url", "'\(url)' is not an http(s) URL")
                } else if kind == .file && auth != .none {
                    hub.fail("auth", "a file output takes no auth")
                } else if kind != .file && retention != nil {
                    hub.fail("retention_days", "only a file output has a retention")
                } else {
                    config.hubs.append(HubConfig(name: name, kind: kind, url: kind == .file ? resolve(url, against: baseDirectory) : url,
                                                 isPrivate: isPrivate, batchSize: Int(batch), timeoutSeconds: Int(timeout), retryMaxMillis: retryMax,
                                                 batchWaitMillis: batchWait, auth: auth, tenant: tenant, contexts: contexts,
                                                 retentionDays: retention.map { Int($0) }))
                }
            }
            hub.finish()
        }
        root.finish()

        if config.subscriptions.isEmpty { config.subscriptions = defaultSubscriptions }
        if config.registryPath.isEmpty { config.registryPath = resolve("devices.toml", against: baseDirectory) }
        if config.codecDirectory.isEmpty { config.codecDirectory = resolve("codecs", against: baseDirectory) }
        config.catalog = catalog
        LayoutCodecFile.loadDirectory(config.codecDirectory, into: &config.catalog, issues: issues)
        let registry = DeviceRegistry.load(path: config.registryPath, catalog: config.catalog, issues: issues)
        config.registry = registry
        if !issues.errors.isEmpty { throw ConfigErrors(errors: issues.errors) }
        config.resolveDefaults()
        return config
    }

    static func resolve(_ path: String, against base: String) -> String {
        if path.hasPrefix("/") || base.isEmpty { return path }
        return (base as NSString).appendingPathComponent(path)
    }

    /// Fills in what depends on the state directory.
    mutating func resolveDefaults() {
        if databasePath.isEmpty { databasePath = (stateDirectory as NSString).appendingPathComponent("citygate.sqlite") }
    }

    /// The hubs in effect: the configured ones, or the file output in the
    /// state directory when none is configured.
    public var effectiveHubs: [HubConfig] {
        if !hubs.isEmpty { return hubs }
        return [HubConfig(name: "file", kind: .file, url: (stateDirectory as NSString).appendingPathComponent("aggregates"),
                          isPrivate: false, batchSize: 500, timeoutSeconds: 10)]
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
