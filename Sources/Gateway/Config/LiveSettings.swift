import Synchronization
import Uplink

/// What SIGHUP may change while the gateway runs: the device registry, the
/// codecs (built-in and layout files) and what the pipeline derives from
/// config (windows, clock skew). The stages read it once per batch, so a
/// reload lands between batches and no uplink is dropped or half-decoded.
public final class LiveSettings: Sendable {
    private struct State {
        var config: GatewayConfig
        var pipeline: UplinkPipeline
        /// Counts config replacements, so a batch decoded ahead can tell whether
        /// it was decoded with the pipeline now in effect.
        var generation = 0
    }

    private let state: Mutex<State>

    public init(_ config: GatewayConfig) {
        state = Mutex(State(config: config, pipeline: UplinkPipeline(config: config)))
    }

    public var current: GatewayConfig { state.withLock { $0.config } }

    /// The pipeline in effect and its generation (which changes on each replace).
    var versionedPipeline: (pipeline: UplinkPipeline, generation: Int) { state.withLock { ($0.pipeline, $0.generation) } }

    var registry: DeviceRegistry { current.registry }

    /// Installs a new config; returns the keys whose change needs a restart
    /// (they keep their running values).
    @discardableResult
    func replace(with new: GatewayConfig) -> [String] {
        let pipeline = UplinkPipeline(config: new)
        let old = state.withLock { state in
            let old = state.config
            state.config = new
            state.pipeline = pipeline
            state.generation += 1
            return old
        }
        return Self.keysNeedingRestart(old: old, new: new)
    }

    /// The config keys whose change takes effect only at the next start.
    static func keysNeedingRestart(old: GatewayConfig, new: GatewayConfig) -> [String] {
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
        return needsRestart
    }
}
