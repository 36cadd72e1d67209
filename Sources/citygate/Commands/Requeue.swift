import ArgumentParser
import FoundationEssentials
import Gateway
import Logging
import Readings
import Store

struct Requeue: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode quarantined uplinks again, after a codec or registry fix.",
        discussion: """
            Moves the matching quarantine rows back to pending in one short transaction (a running \
            daemon's intake waits for it through SQLite's lock, then the daemon decodes them within a \
            second). With no daemon running on the database, this command decodes them itself with the \
            config's current codecs and registry. An uplink that fails again is quarantined again.
            """)

    @OptionGroup var options: DatabaseOptions
    @Option(help: ArgumentHelp("Only uplinks quarantined for this reason (e.g. unknown_device).",
                               discussion: "One of \(QuarantineReason.allCases.map(\.rawValue).joined(separator: ", ")).")) var reason: String?
    @Option(help: "Only uplinks of this device.") var device: String?

    func run() throws {
        var quarantineReason: QuarantineReason?
        if let reason {
            guard let known = QuarantineReason(rawValue: reason) else {
                StandardError.write("requeue: '\(reason)' is not a quarantine reason (\(QuarantineReason.allCases.map(\.rawValue).joined(separator: ", ")))\n")
                throw ExitCode.validationFailure
            }
            quarantineReason = known
        }
        let settings = try options.load()
        LineLogHandler.bootstrap(level: .warning)
        let logger = Logger(label: "citygate-requeue")
        do {
            let store = try GatewayStore(path: settings.databasePath, synchronous: settings.synchronous, deduplication: settings.deduplication)
            let moved = try store.requeueQuarantined(reason: quarantineReason, device: device?.lowercased())
            if let lock = DatabaseLock(database: settings.databasePath) {
                let processed = try GatewayApp.processPending(config: settings, store: store, logger: logger)
                let quarantined = try store.statistics().quarantined
                withExtendedLifetime(lock) {}
                print("requeued \(moved) uplink(s); no daemon running, decoded \(processed) pending uplink(s) here; \(quarantined) quarantined now")
            } else {
                print("requeued \(moved) uplink(s); the running daemon decodes them")
            }
        } catch {
            StandardError.write("requeue failed: \(error)\n")
            throw ExitCode.failure
        }
    }
}
