import Uplink
import Foundation

/// What SIGHUP may change while the gateway runs: the device registry, the
/// codecs (built-in and layout files) and what the pipeline derives from
/// config (windows, clock skew). The stages read it once per batch, so a
/// reload lands between batches and no uplink is dropped or half-decoded.
public final class LiveSettings: @unchecked Sendable {
    private let lock = NSLock()
    private var config: GatewayConfig
    private var builtPipeline: UplinkPipeline
    /// Counts config replacements, so a batch decoded ahead can tell whether
    /// it was decoded with the pipeline now in effect.
    private var generation = 0

    public init(_ config: GatewayConfig) {
        self.config = config
        builtPipeline = UplinkPipeline(config: config)
    }

    public var current: GatewayConfig {
        lock.lock()
        defer { lock.unlock() }
        return config
    }

    /// The pipeline in effect and its generation (which changes on each replace).
    var versionedPipeline: (pipeline: UplinkPipeline, generation: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (builtPipeline, generation)
    }

    var registry: DeviceRegistry { current.registry }

    /// Installs a new config; returns the keys whose change needs a restart
    /// (they keep their running values).
    @discardableResult
    func replace(with new: GatewayConfig) -> [String] {
        lock.lock()
        defer { lock.unlock() }
        let old = config
        var needsRestart: [String] = []
        if new.brokerHost != old.brokerHost || new.brokerPort != old.brokerPort { needsRestart.append("mqtt.broker") }
        if new.subscriptions != old.subscriptions { needsRestart.append("mqtt.subscription") }
        if new.clientID != old.clientID || new.cleanSession != old.cleanSession || new.username != old.username
            || new.passwordFile != old.passwordFile || new.keepAliveSeconds != old.keepAliveSeconds || new.subscribeQoS != old.subscribeQoS
            || new.tls != old.tls || new.mqttProtocol != old.mqttProtocol || new.sessionExpirySeconds != old.sessionExpirySeconds {
            needsRestart.append("mqtt")
        }
        if new.databasePath != old.databasePath { needsRestart.append("gateway.database") }
        if new.hubs != old.hubs { needsRestart.append("hub") }
        if new.httpListen != old.httpListen { needsRestart.append("http.listen") }
        if new.bounds != old.bounds || new.deduplication != old.deduplication { needsRestart.append("store") }
        if new.graceMillis != old.graceMillis || new.latenessMillis != old.latenessMillis || new.zoneRollups != old.zoneRollups
            || new.minimumZoneHomes != old.minimumZoneHomes {
            needsRestart.append("aggregation/privacy")
        }
        config = new
        builtPipeline = UplinkPipeline(config: new)
        generation += 1
        return needsRestart
    }
}
