import Foundation
import Gateway
import TOML
import Testing

/// Operator defaults (issue 18, item 3): where a command finds its config
/// without `--config`, and `*_credential` keys outside systemd.
@Suite struct ConfigLocationTests {
    @Test func theConfigIsFoundInTheDocumentedOrder() {
        let everything: Set<String> = [ConfigLocation.installed, ConfigLocation.checkout]
        func resolve(_ explicit: String?, _ environment: [String: String], _ present: Set<String>) -> String? {
            ConfigLocation.resolve(explicit: explicit, environment: environment, exists: present.contains)
        }
        #expect(resolve("/srv/mine.toml", ["CITYGATE_CONFIG": "/env.toml"], everything) == "/srv/mine.toml")
        #expect(resolve(nil, ["CITYGATE_CONFIG": "/env.toml"], everything) == "/env.toml")
        #expect(resolve(nil, [:], everything) == ConfigLocation.installed)
        #expect(resolve(nil, [:], [ConfigLocation.checkout]) == ConfigLocation.checkout)
        #expect(resolve(nil, ["CITYGATE_CONFIG": ""], []) == nil)
        #expect(ConfigLocation.notFound.contains("--config") && ConfigLocation.notFound.contains("CITYGATE_CONFIG"))
    }

    @Test func credentialKeysOutsideSystemdAreNotedNotRefused() throws {
        let directory = try ConfigDirectory(config: "[mqtt]\nusername = \"citygate\"\npassword_credential = \"mqtt-password\"\n")
        // `run` needs the secret: without systemd's credentials it is an error.
        #expect(throws: ConfigErrors.self) { try GatewayConfig.load(path: directory.configPath, environment: [:]) }
        // `check-config` from a shell: named as systemd's to supply, not an error.
        let checked = try GatewayConfig.load(path: directory.configPath, environment: [:], credentialsLater: true)
        #expect(checked.notes.map(\.description).contains { $0.contains("mqtt.password_credential") && $0.contains("supplied by systemd at run time") },
                "\(checked.notes)")
        // Under systemd the credential's path is taken.
        let underSystemd = try GatewayConfig.load(path: directory.configPath, environment: ["CREDENTIALS_DIRECTORY": "/run/credentials/citygate.service"])
        #expect(underSystemd.passwordFile == "/run/credentials/citygate.service/mqtt-password" && underSystemd.notes.isEmpty)
    }
}
