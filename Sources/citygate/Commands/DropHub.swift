import ArgumentParser
import FoundationEssentials
import Gateway
import Store

struct DropHub: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drop-hub",
        abstract: "Forget a hub that was removed from the config: its backlog, dead letters and ids.",
        discussion: """
            A hub taken out of the config keeps its undelivered windows in the ledger (the gateway names \
            it at start-up). This deletes that hub's ledger rows and the ids it gave, in short steps, so \
            it is safe beside a running daemon. A hub still in the config is refused: remove it first.
            """)

    @OptionGroup var options: DatabaseOptions
    @Option(help: "The hub's name in the ledger (see the start-up warning or citygate status).") var hub: String

    func run() throws {
        let settings = try options.load()
        guard !settings.effectiveHubs.contains(where: { $0.name == hub }) else {
            StandardError.write("drop-hub: hub '\(hub)' is in \(try options.config); remove it from the config first\n")
            throw ExitCode.failure
        }
        do {
            let store = try GatewayStore(path: settings.databasePath, synchronous: settings.synchronous)
            let waiting = try store.undeliveredByHub()[hub] ?? 0
            let dropped = try store.dropHub(hub)
            print("dropped hub \(hub): \(dropped) ledger row(s), \(waiting) of them undelivered")
        } catch {
            StandardError.write("drop-hub failed: \(error)\n")
            throw ExitCode.failure
        }
    }
}
