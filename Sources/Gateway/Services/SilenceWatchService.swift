import FoundationEssentials
import Logging
import Readings
import ServiceLifecycle
import Store
import Uplink

/// Once a minute: which registered devices went silent
/// (`citygate_devices_silent`, and a line when the set changes).
// @unchecked: its mutable state belongs to its own run loop (one task); the rest is `let`.
final class SilenceWatchService: Service, @unchecked Sendable {
    let store: GatewayStore
    let settings: LiveSettings
    let metrics: GatewayMetrics
    let logger: Logger
    private var lastSilent: Set<DeviceID> = []

    init(context: ServiceContext) {
        store = context.store
        settings = context.settings
        metrics = context.metrics
        logger = context.logger
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            check()
            // Woken by shutdown rather than holding it up for a minute.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(60)) }
        }
    }

    func check() {
        let config = settings.current
        guard let activity = try? store.deviceActivity() else { return }
        let found = SilentDevices.find(registry: config.registry, windows: config.windows, lastSeen: activity.mapValues(\.lastSeen),
                                       now: GatewayClock.now(), multiple: config.silentAfterIntervals)
        metrics.devicesSilent.set(Int64(found.silent.count))
        // SIGHUP may have changed the registry.
        metrics.devicesRegistered.set(Int64(config.registry.count))
        let silent = Set(found.silent.map(\.device))
        let newlySilent = silent.subtracting(lastSilent)
        if !newlySilent.isEmpty {
            logger.warning("devices went silent", metadata: [
                "count": "\(newlySilent.count)", "devices": "\(newlySilent.sorted().prefix(10).joined(separator: ","))",
                "silent_total": "\(silent.count)"])
        }
        let back = lastSilent.subtracting(silent)
        if !back.isEmpty { logger.info("silent devices reporting again", metadata: ["count": "\(back.count)"]) }
        lastSilent = silent
    }
}
