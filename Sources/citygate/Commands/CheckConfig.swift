import ArgumentParser
import Gateway

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate the config and device registry; print every error; exit 78 if any.")

    @OptionGroup var configOption: ConfigOption

    func run() throws {
        let config = try configOption.path()
        // Outside systemd, *_credential keys cannot be read here: systemd
        // supplies them when it starts the service. They are named, not refused.
        let settings = try loadConfig(config, credentialsLater: true)
        for note in settings.notes { print("note: \(note)") }
        print("ok: \(config): \(settings.registry.count) devices, \(settings.subscriptions.count) subscriptions, hubs: \(settings.effectiveHubs.map(\.name).joined(separator: ", "))")
    }
}
