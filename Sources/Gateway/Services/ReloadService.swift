import Foundation
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

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            reload()
        }
    }

    func reload() {
        let path = settings.current.configPath
        do {
            let config = try load()
            let needsRestart = settings.replace(with: config)
            logger.notice("configuration reloaded", metadata: [
                "config": "\(path)", "devices": "\(config.registry.count)", "codecs": "\(config.catalog.ids.count)"])
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
