import ArgumentParser
import Gateway

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate the config and device registry; print every error; exit 78 if any.")

    @Option(help: "Path of citygate.toml.") var config: String = "Config/citygate.toml"

    func run() throws {
        let settings = try loadConfig(config)
        print("ok: \(config): \(settings.registry.count) devices, \(settings.subscriptions.count) subscriptions, hubs: \(settings.effectiveHubs.map(\.name).joined(separator: ", "))")
    }
}
