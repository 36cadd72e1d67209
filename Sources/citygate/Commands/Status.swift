import ArgumentParser
import FoundationEssentials
import Gateway
import Readings
import Store
import Uplink

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read the database (read-only, safe while the daemon runs) and print its figures.")

    @OptionGroup var options: DatabaseOptions
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let settings = try options.load()
        let path = settings.databasePath
        let report: StatusReport
        do {
            let store = try GatewayStore(readOnlyPath: path)
            report = try StatusReport(database: path, store: store, registry: settings.registry, windows: settings.windows,
                                      silentAfterIntervals: settings.silentAfterIntervals, now: GatewayClock.now())
        } catch {
            StandardError.write("cannot read \(path): \(error)\n")
            throw ExitCode.failure
        }
        if json {
            print(JSONText.object(report.fields).serialized())
        } else {
            for line in report.lines { print(line) }
        }
    }
}
