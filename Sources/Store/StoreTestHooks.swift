import Foundation
import Readings

/// Hooks for tests and benchmarks only, kept apart from the ledgers.
extension GatewayStore {
    /// Fault injection for the watchdog test: takes the writer's lock and
    /// never gives it back, as a writer stuck in I/O would.
    public func stallWriterForever() {
        locked { while true { sleep(3600) } }
    }
}

/// The store's commit path against a raw SQLite insert loop, on the same
/// machine and disk, for `Benchmarks/ingest-vs-broker.sh` (through the hidden
/// `citygate benchmark-store` command). One transaction per message in both,
/// WAL, `synchronous=NORMAL`.
public enum StoreBenchmark {
    public struct Figures: Sendable {
        public var storeSeconds: Double
        public var rawSeconds: Double
    }

    /// Commits `count` messages like `message` through `GatewayStore.commitUplink`
    /// into `directory/store.sqlite`, then inserts as many rows with a bare
    /// prepared INSERT into `directory/raw.sqlite`.
    public static func run(directory: String, count: Int, message: [UInt8]) throws -> Figures {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try GatewayStore(path: directory + "/store.sqlite")
        let storeStart = ContinuousClock.now
        for index in 0..<count {
            _ = try store.commitUplink(topic: "application/bench/device/\(index % 1000)/event/up", message: message + [UInt8(truncatingIfNeeded: index)],
                                       receivedAt: Int64(index))
        }
        let storeSeconds = seconds(ContinuousClock.now - storeStart)

        let raw = try SQLiteConnection(path: directory + "/raw.sqlite")
        try raw.execute("PRAGMA journal_mode=WAL")
        try raw.execute("PRAGMA synchronous=NORMAL")
        try raw.execute("CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, received_ms INTEGER, topic TEXT, message BLOB)")
        let rawStart = ContinuousClock.now
        for index in 0..<count {
            try raw.execute("BEGIN")
            try raw.run("INSERT INTO messages (received_ms, topic, message) VALUES (?, ?, ?)",
                        [.integer(Int64(index)), .text("application/bench/device/\(index % 1000)/event/up"),
                         .blob(message + [UInt8(truncatingIfNeeded: index)])])
            try raw.execute("COMMIT")
        }
        let rawSeconds = seconds(ContinuousClock.now - rawStart)
        raw.close()
        return Figures(storeSeconds: storeSeconds, rawSeconds: rawSeconds)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
