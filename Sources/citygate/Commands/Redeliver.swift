import ArgumentParser
import FoundationEssentials
import Gateway
import Store

struct Redeliver: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a hub's dead-lettered windows again, after the hub or the mapping was fixed.",
        discussion: """
            Moves the hub's dead-lettered deliveries back to pending in one short transaction; a running \
            daemon sends them within a second (oldest window first), or the next start does. The hub's \
            earlier answers are kept in the ledger until a new attempt replaces them.
            """)

    @OptionGroup var options: DatabaseOptions
    @Option(help: "The hub's name in the config (see citygate status).") var hub: String

    func run() throws {
        let settings = try options.load()
        do {
            let store = try GatewayStore(path: settings.databasePath, synchronous: settings.synchronous)
            let known = try store.statistics().hubs.keys
            guard known.contains(hub) || settings.effectiveHubs.contains(where: { $0.name == hub }) else {
                StandardError.write("redeliver: no hub named '\(hub)' in the config or the ledger (known: \(known.sorted().joined(separator: ", ")))\n")
                throw ExitCode.failure
            }
            let moved = try store.redeliverDeadLettered(hub: hub, now: GatewayClock.now())
            print("\(moved) dead-lettered window(s) queued again for hub \(hub)")
        } catch let exit as ExitCode {
            throw exit
        } catch {
            StandardError.write("redeliver failed: \(error)\n")
            throw ExitCode.failure
        }
    }
}
