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
