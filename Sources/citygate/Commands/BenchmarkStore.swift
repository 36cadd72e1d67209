import FoundationEssentials
import ArgumentParser
import Readings
import Store

/// For Benchmarks/ingest-vs-broker.sh: the store's commit path against a raw
/// SQLite insert loop. Not for operators, so not listed in --help.
struct BenchmarkStore: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "benchmark-store", shouldDisplay: false)

    @Option(help: "Scratch directory (two databases are written there).") var directory: String
    @Option(help: "Messages to commit.") var count: Int = 50_000
    @Option(help: "Size of each message in bytes.") var size: Int = 1300
    @Option(help: "Instead: fill a store with this many uplinks and report the longest writer hold of each maintenance step.")
    var writerHolds: Int?

    func run() throws {
        if let rows = writerHolds {
            for (operation, longest, detail) in try WriterHoldBenchmark.run(directory: directory, rows: rows) {
                print("\(operation): longest writer hold \(PlainText.fixed(longest.inSeconds * 1000, decimals: 1)) ms (\(detail))")
            }
            return
        }
        let figures = try StoreBenchmark.run(directory: directory, count: count, message: [UInt8](repeating: 0x7B, count: max(1, size)))
        print("store \(figures.storeSeconds) raw \(figures.rawSeconds)")
    }
}
