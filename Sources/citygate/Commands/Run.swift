import ArgumentParser
import FoundationEssentials
import Gateway
import Hubs
import Logging
import Readings
import TOML

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway until SIGTERM or SIGINT.")

    @OptionGroup var configOption: ConfigOption
    @Option(help: "Broker URL, mqtt://HOST:PORT (overrides [mqtt] broker).") var broker: String?
    @Option(help: "SQLite database path (overrides [gateway] database).") var database: String?
    @Option(name: .customLong("http-listen"), help: "HOST:PORT for /metrics and /health; empty to disable.") var httpListen: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.") var logLevel: String?
    @Option(help: "Override every window length, e.g. 10s (grace scales with it).") var window: String?
    @Option(help: ArgumentHelp("Add a hub, KIND=URL (repeatable).", discussion: "KIND: \(HubKinds.namesText). URL: \(HubKinds.urlHelp).")) var hub: [String] = []

    func run() async throws {
        let config = try configOption.path()
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
            if parts.count == 2, HubKinds.named(parts[0]) != nil, !parts[1].isEmpty {
                overrides.hubs.append((parts[0], parts[1]))
            } else {
                errors.append("--hub: '\(item)' is not KIND=URL with KIND \(HubKinds.namesText)")
            }
        }
        errors += overrides.apply(to: &settings)
        if !errors.isEmpty {
            for error in errors { StandardError.write("config error: \(error)\n") }
            throw ExitCode(exitConfig)
        }
        LineLogHandler.bootstrap(level: Logger.Level(rawValue: settings.logLevel) ?? .info, format: settings.logFormat)
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
