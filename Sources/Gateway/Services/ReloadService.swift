import Dispatch
import FoundationEssentials
import Readings
import Glibc
import Logging
import ServiceLifecycle
import TOML
import UnixSignals

/// SIGHUP (`systemctl reload citygate`): reads the config, the device
/// registry and the codec files again. A config with errors is refused: every
/// error is logged and the running config stays. A good one replaces the
/// registry, codecs and windows between two processing batches, so no uplink
/// is dropped; settings that need a restart (broker, hubs, database, ...)
/// keep their running values and are named in a warning.
final class ReloadService: Service, Sendable {
    let settings: LiveSettings
    let load: @Sendable () throws -> GatewayConfig
    let logger: Logger

    init(settings: LiveSettings, logger: Logger, load: @escaping @Sendable () throws -> GatewayConfig) {
        self.settings = settings
        self.load = load
        self.logger = logger
    }

    /// Reading a 100,000-device registry takes about 2 s of CPU: that runs on
    /// a thread of its own, not on one of the few threads Swift concurrency
    /// shares with processing and the HTTP listener. Ingest commits on the
    /// MQTT network thread and never waits for it; the new settings land
    /// between two processing batches.
    private static let reloadQueue = DispatchQueue(label: "citygate-reload")

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                Self.reloadQueue.async {
                    self.reload()
                    done.resume()
                }
            }
        }
    }

    func reload() {
        let path = settings.current.configPath
        let started = ContinuousClock.now
        do {
            let config = try load()
            let needsRestart = settings.replace(with: config)
            logger.notice("configuration reloaded", metadata: [
                "config": "\(path)", "devices": "\(config.registry.count)", "codecs": "\(config.catalog.ids.count)",
                "seconds": "\(PlainText.fixed((ContinuousClock.now - started).inSeconds, decimals: 2))"])
            if !needsRestart.isEmpty {
                logger.warning("changes that need a restart were not applied; the running values stay",
                               metadata: ["keys": "\(needsRestart.joined(separator: ","))"])
            }
        } catch let errors as ConfigErrors {
            for error in errors.errors { logger.error("config error", metadata: ["error": "\(error)"]) }
            logger.error("reload refused; the running configuration stays", metadata: ["config": "\(path)", "errors": "\(errors.errors.count)"])
        } catch {
            logger.error("reload refused; the running configuration stays", metadata: ["config": "\(path)", "error": "\(error)"])
        }
    }
}
