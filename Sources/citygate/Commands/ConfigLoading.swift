import ArgumentParser
import Foundation
import Gateway
import TOML

/// EX_CONFIG from sysexits.h: systemd's RestartPreventExitStatus=78 keeps a
/// bad config from restart-looping.
let exitConfig: Int32 = 78

/// How every command loads its config: the config and its registry load,
/// or the command prints every problem and exits 78.
func loadConfig(_ path: String) throws -> GatewayConfig {
    do {
        return try GatewayConfig.load(path: path)
    } catch let errors as ConfigErrors {
        for error in errors.errors { FileHandle.standardError.write(Data("config error: \(error)\n".utf8)) }
        throw ExitCode(exitConfig)
    }
}

/// `--config` and `--database`, for the commands that work on a gateway's
/// database (status, requeue, redeliver, drop-hub).
struct DatabaseOptions: ParsableArguments {
    @Option(help: "Path of citygate.toml (its codecs and registry are used too).") var config: String = "Config/citygate.toml"
    @Option(help: "SQLite database path (overrides the config).") var database: String?

    /// The config, with the database path from `--database` when given.
    func load() throws -> GatewayConfig {
        var settings = try loadConfig(config)
        if let database { settings.databasePath = database }
        return settings
    }
}
