import ArgumentParser
import FoundationEssentials
import Gateway
import TOML

/// EX_CONFIG from sysexits.h: systemd's RestartPreventExitStatus=78 keeps a
/// bad config from restart-looping.
let exitConfig: Int32 = 78

/// How every command loads its config: the config and its registry load,
/// or the command prints every problem and exits 78.
func loadConfig(_ path: String, credentialsLater: Bool = false) throws -> GatewayConfig {
    do {
        return try GatewayConfig.load(path: path, credentialsLater: credentialsLater)
    } catch let errors as ConfigErrors {
        for error in errors.errors { StandardError.write("config error: \(error)\n") }
        throw ExitCode(exitConfig)
    }
}

/// `--config`, shared by every command that reads one. Without it the config
/// is looked for where `ConfigLocation` says.
struct ConfigOption: ParsableArguments {
    @Option(help: ArgumentHelp("Path of citygate.toml (its codecs and registry are used too).",
                               discussion: "Default: $CITYGATE_CONFIG, else \(ConfigLocation.installed), else ./\(ConfigLocation.checkout)."))
    var config: String?

    /// The path in effect, or exit 78 saying where it looked.
    func path() throws -> String {
        guard let path = ConfigLocation.resolve(explicit: config) else {
            StandardError.write("config error: \(ConfigLocation.notFound)\n")
            throw ExitCode(exitConfig)
        }
        return path
    }

    func load(credentialsLater: Bool = false) throws -> GatewayConfig {
        try loadConfig(try path(), credentialsLater: credentialsLater)
    }
}

/// `--config` and `--database`, for the commands that work on a gateway's
/// database (status, requeue, redeliver, drop-hub).
struct DatabaseOptions: ParsableArguments {
    @OptionGroup var configOption: ConfigOption
    @Option(help: "SQLite database path (overrides the config).") var database: String?

    /// The path of the config in effect.
    var config: String { get throws { try configOption.path() } }

    /// The config, with the database path from `--database` when given.
    /// Credentials are systemd's to supply when it starts the daemon; these
    /// commands do not need them.
    func load() throws -> GatewayConfig {
        var settings = try configOption.load(credentialsLater: true)
        if let database { settings.databasePath = database }
        return settings
    }
}
