import Codecs
import FoundationEssentials
import Hubs
import MQTT
import Readings
import TOML
import Uplink

/// One reader per section of `citygate.toml`; every key is documented in
/// `Config/citygate.toml`. A hub kind reads its own keys (`HubConfig.read`).
extension GatewayConfig {
    static func readGateway(_ root: inout TableReader, into config: inout GatewayConfig, baseDirectory: String) {
    if var gateway = root.table("gateway") {
        if let id = gateway.string("id") {
            if id.isEmpty || id.count > 64 { gateway.fail("id", "must be 1 to 64 characters") } else { config.gatewayID = id }
        }
        if let directory = gateway.string("state_directory"), !directory.isEmpty { config.stateDirectory = directory }
        if let database = gateway.string("database"), !database.isEmpty { config.databasePath = database }
        if let registry = gateway.string("device_registry") { config.registryPath = TableReader.resolve(registry, against: baseDirectory) }
        if let codecs = gateway.string("codec_directory") { config.codecDirectory = TableReader.resolve(codecs, against: baseDirectory) }
        if let level = gateway.string("log_level", oneOf: LogLevelName.all) { config.logLevel = level }
        if let sync = gateway.string("synchronous", oneOf: ["normal", "full"]) { config.synchronous = sync == "full" ? .full : .normal }
        if let multiple = gateway.integer("silent_after_intervals", in: 0...1000) { config.silentAfterIntervals = Int(multiple) }
        gateway.finish()
    }
    }

    static func readStore(_ root: inout TableReader, into config: inout GatewayConfig) {
    if var store = root.table("store") {
        if let window = store.duration("duplicate_window", in: 60_000...30 * 86_400_000) { config.deduplication.frameWindowMillis = window }
        if let below = store.integer("session_reset_below", in: 0...65_535) { config.deduplication.sessionResetBelow = UInt32(below) }
        if let window = store.duration("uncounted_duplicate_window", in: 0...30 * 86_400_000) { config.deduplication.uncountedWindowMillis = window }
        if let size = store.byteSize("max_size", in: 1 << 20...1 << 44) { config.bounds.maxSizeBytes = size }
        if let retention = store.duration("raw_retention", in: 3_600_000...3650 * 86_400_000) { config.bounds.rawRetentionMillis = retention }
        if let retention = store.duration("reading_retention", in: 3_600_000...3650 * 86_400_000) { config.bounds.readingRetentionMillis = retention }
        if let retention = store.duration("quarantine_retention", in: 3_600_000...3650 * 86_400_000) { config.bounds.quarantineRetentionMillis = retention }
        if let free = store.byteSize("min_free_disk", in: 0...1 << 40) { config.minimumFreeDiskBytes = free }
        if config.bounds.rawRetentionMillis > config.bounds.readingRetentionMillis {
            store.fail("raw_retention", "must not be longer than reading_retention (raw uplinks are the parents of their readings)")
        }
        store.finish()
    }
    }

    static func readMQTT(_ root: inout TableReader, into config: inout GatewayConfig, baseDirectory: String) {
    if var mqtt = root.table("mqtt") {
        var useTLS = false
        if let broker = mqtt.string("broker") {
            if let parsed = MQTTOptions.parseBrokerURL(broker) {
                config.brokerHost = parsed.host; config.brokerPort = parsed.port; useTLS = parsed.tls
            } else { mqtt.fail("broker", "'\(broker)' is not mqtt://HOST[:PORT] or mqtts://HOST[:PORT]") }
        }
        if let version = mqtt.string("protocol", oneOf: ["3.1.1", "5"]) { config.mqttProtocol = version == "5" ? 5 : 4 }
        if let expiry = mqtt.duration("session_expiry", in: 0...4_294_967_295_000) { config.sessionExpirySeconds = UInt32(expiry / 1000) }
        let caFile = mqtt.string("ca_file").map { TableReader.resolve($0, against: baseDirectory) }
        let caPath = mqtt.string("ca_path").map { TableReader.resolve($0, against: baseDirectory) }
        let certFile = mqtt.string("cert_file").map { TableReader.resolve($0, against: baseDirectory) }
        let keyFile = mqtt.string("key_file").map { TableReader.resolve($0, against: baseDirectory) }
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
        if let cap = mqtt.byteSize("max_payload_bytes", in: 1024...(256 << 20)) { config.maxPayloadBytes = Int(cap) }
        config.username = mqtt.string("username")
        config.passwordFile = mqtt.secretFile("password", baseDirectory: baseDirectory)
        var subscriptions: [Subscription] = []
        for var item in mqtt.tables("subscription") {
            let topic = item.string("topic")
            let envelope = item.string("envelope", oneOf: EnvelopeKind.allCases.map(\.rawValue))
            let trust = item.bool("trust_frame_identity") ?? false
            if topic == nil { item.fail("topic", "required") }
            if envelope == nil && item.table["envelope"] == nil { item.fail("envelope", "required") }
            if let topic, let envelope {
                if let filter = TopicFilter(topic) { subscriptions.append(Subscription(filter: filter, envelope: EnvelopeKind(rawValue: envelope)!, trustFrameIdentity: trust)) }
                else { item.fail("topic", "'\(topic)' is not a valid MQTT topic filter") }
            }
            item.finish()
        }
        if !subscriptions.isEmpty { config.subscriptions = subscriptions }
        mqtt.finish()
    }
    }

    /// `[log]`: the line format outside journald, and the level (also
    /// accepted as `[gateway] log_level`, where it was first).
    static func readLog(_ root: inout TableReader, into config: inout GatewayConfig) {
        guard var log = root.table("log") else { return }
        if let format = log.string("format", oneOf: LogFormat.allCases.map(\.rawValue)) { config.logFormat = LogFormat(rawValue: format) ?? .text }
        if let level = log.string("level", oneOf: LogLevelName.all) { config.logLevel = level }
        log.finish()
    }

    static func readHTTP(_ root: inout TableReader, into config: inout GatewayConfig, baseDirectory: String) {
    if var http = root.table("http") {
        if let listen = http.string("listen") {
            if listen.isEmpty { config.httpListen = nil }
            else if parseListen(listen) == nil { http.fail("listen", "'\(listen)' is not HOST:PORT") }
            else { config.httpListen = listen }
        }
        config.httpTokenFile = http.secretFile("token", baseDirectory: baseDirectory)
        config.httpAllowUnauthenticated = http.bool("allow_unauthenticated") ?? false
        if let problem = config.httpAuthProblem { http.fail("listen", problem) }
        http.finish()
    }
    }

    static func readAggregation(_ root: inout TableReader, into config: inout GatewayConfig) {
    if var aggregation = root.table("aggregation") {
        if var windows = aggregation.table("windows") {
            for kind in SensorKind.allCases {
                if let millis = windows.duration(kind.rawValue, in: 1000...86_400_000) { config.windows[kind] = millis }
            }
            windows.finish()
        }
        if let grace = aggregation.duration("grace", in: 0...86_400_000) { config.graceMillis = grace }
        if let skew = aggregation.duration("max_clock_skew", in: 0...7 * 86_400_000) { config.maxClockSkewMillis = skew }
        if let backfill = aggregation.duration("max_backfill", in: 3_600_000...365 * 86_400_000) { config.maxBackfillMillis = backfill }
        if let lateness = aggregation.duration("lateness", in: 0...30 * 86_400_000) { config.latenessMillis = lateness }
        if let rollups = aggregation.bool("zone_rollups") { config.zoneRollups = rollups }
        aggregation.finish()
    }
    if var privacy = root.table("privacy") {
        if let k = privacy.integer("min_zone_homes", in: 2...1000) { config.minimumZoneHomes = Int(k) }
        privacy.finish()
    }
    }

    static func readHubs(_ root: inout TableReader, into config: inout GatewayConfig, baseDirectory: String) {
    var names: Set<String> = []
    for var section in root.tables("hub") {
        if let hub = HubConfig.read(&section, baseDirectory: baseDirectory) {
            if names.insert(hub.name).inserted { config.hubs.append(hub) }
            else { section.fail("name", "hub '\(hub.name)' is defined twice") }
        }
        section.finish()
    }
    }
}
