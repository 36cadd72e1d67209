import FoundationEssentials
import Glibc
import Readings
import Synchronization

/// The gateway's SQLite file: the source of truth from the raw uplink to the
/// hub's acknowledgement.
///
/// One writer connection, serialised by `writer`, shared by the MQTT network
/// thread (which commits raw uplinks) and the pipeline tasks. WAL mode, so
/// `citygate status` can read while the daemon writes.
///
/// Each ledger has a file of its own: `UplinkLog` (ingest), `ProcessingRecord`
/// (what processing made of an uplink, with `UplinkRowFacts`), `DeviceSessions` (a device's session,
/// the frames it kept, `RecentFramesCodec`, its activity and its `OpenWindows`), `UplinkReadings`, `ReadingWindows`
/// (closing, with `WindowSeries`; `StoredRowCache` keeps copies of recent session rows), `Aggregates`, `DeliveryLedger`, `Quarantine`, `Retention`, `StoreFigures`;
/// the schema is in `Schema`, test and benchmark hooks in `StoreTestHooks`.
///
/// Durability with `synchronous=NORMAL` (the default): a committed uplink
/// survives a crash of the process (it is in the WAL file); after a power
/// loss the last transactions before the loss may roll back. With `FULL`
/// every commit is fsynced and survives power loss too, at a higher cost
/// per uplink.
// @unchecked: `connection` is not thread-safe; every use is inside `locked`.
public final class GatewayStore: @unchecked Sendable {
    public enum Synchronous: String, Sendable, CaseIterable { case normal = "NORMAL", full = "FULL" }

    public let path: String
    let connection: SQLiteConnection
    private let writer = Mutex(())
    private let longestHoldNanos = Atomic<Int64>(0)

    /// The size bound in pages (0 = none); see `apply(_:)`.
    var boundPages: Int64 { boundPagesStorage.withLock { $0 } }
    let boundPagesStorage = Mutex<Int64>(0)
    /// The checkpoint's own connection, opened on first use.
    private let checkpointer = Mutex<SQLiteConnection?>(nil)

    /// Grace plus lateness (`StoreBounds.revisableMillis`, set by `apply`):
    /// how long after its end a closed window still takes a reading.
    var revisableMillis: Int64 { revisableStorage.load(ordering: .relaxed) }
    let revisableStorage = Atomic<Int64>(0)

    /// How raw messages are stored (see `RawMessageCompression`).
    let rawCompression = RawMessageCompression()

    /// Copies of recently used session and accumulator rows (see `StoredRowCache`).
    /// A device's two copies take about 0.5 KB: 4,096 of each is a few MiB at
    /// most (10,000 took 9.7 MB more RSS with 100,000 devices sending, which hit
    /// one time in ten: Benchmarks/RESULTS.md, issue 17).
    let rowCache = StoredRowCache(capacity: 4_096)

    /// Deduplication rules (see `DeduplicationPolicy`).
    public let deduplication: DeduplicationPolicy
    var frameDuplicateWindow: Int64 { deduplication.frameWindowMillis }

    public init(path: String, synchronous: Synchronous = .normal, deduplication: DeduplicationPolicy = .init()) throws {
        self.path = path
        self.deduplication = deduplication
        let directory = PathText.directory(of: path)
        // The uplinks are a city's data: a directory made here is the owner's
        // alone (0700), and so is the database (0600; SQLite gives its WAL and
        // shared-memory files the database's mode). One that exists is left as it is.
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        connection = try SQLiteConnection(path: path)
        _ = chmod(path, 0o600)
        try connection.execute("PRAGMA journal_mode=WAL")
        try connection.execute("PRAGMA synchronous=\(synchronous.rawValue)")
        try connection.execute("PRAGMA foreign_keys=ON")
        try connection.execute("PRAGMA busy_timeout=5000")
        // After a checkpoint the WAL is cut back to 64 MiB: a burst that grew
        // it (a flood while the bound is reached) does not keep the disk.
        try connection.execute("PRAGMA journal_size_limit=\(64 << 20)")
        // Checkpoints (which fsync) run on their own connection from the
        // storage guard, so ingest commits never pay for them; the writer
        // checkpoints itself only if the WAL grows past ~80 MB regardless.
        try connection.execute("PRAGMA wal_autocheckpoint=20000")
        // 2 MiB of page cache, SQLite's default. It was 4 MiB while processing
        // inserted readings into per-device indexes all over their pages (dirty
        // pages spilt mid-transaction; second load-test round). With one pass
        // per uplink and rows in the order devices report (issue 17), 2 MiB
        // writes the same bytes at the same CPU, with 100 devices and with
        // 100,000 out of step, and the daemon peaks 1.5-3.6 MiB lower
        // (Benchmarks/RESULTS.md, tenth step).
        try connection.execute("PRAGMA cache_size=-2048")
        try Schema.migrate(connection)
        try loadRawDictionary()
    }

    /// Opens an existing database read-only (for `citygate status` beside a
    /// running daemon).
    public init(readOnlyPath path: String) throws {
        self.path = path
        deduplication = .init()
        guard FileManager.default.fileExists(atPath: path) else {
            throw SQLiteError(code: 14, message: "no database at \(path)", sql: nil)
        }
        connection = try SQLiteConnection(path: path, readOnly: true)
        try connection.execute("PRAGMA busy_timeout=5000")
    }

    /// Runs `body` holding the writer: the one way to reach `connection`.
    func locked<T: Sendable, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        try writer.withLock { (_: inout Void) throws(E) -> T in
            let start = ContinuousClock.now
            defer { noteWriterHold(ContinuousClock.now - start) }
            return try body()
        }
    }

    /// The longest the writer was held in one go since the last call (or
    /// since the store was opened): what ingest may have waited before it
    /// could commit (no PUBACK, no keepalive meanwhile). The storage guard
    /// exports it as a metric; the fault matrix reports it.
    public func takeLongestWriterHold() -> Duration {
        .nanoseconds(longestHoldNanos.exchange(0, ordering: .relaxed))
    }

    private func noteWriterHold(_ hold: Duration) {
        let nanos = hold.components.seconds * 1_000_000_000 + hold.components.attoseconds / 1_000_000_000
        var current = longestHoldNanos.load(ordering: .relaxed)
        while nanos > current {
            let (exchanged, original) = longestHoldNanos.compareExchange(expected: current, desired: nanos, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// `body` in one transaction, holding the writer. The row copies it
    /// staged (`StoredRowCache`) are kept if it commits, dropped if not.
    func transaction<T: Sendable>(_ body: () throws -> T) throws -> T {
        try locked {
            do {
                let result = try connection.transaction { () throws -> T in
                    try rowCache.begin(on: connection)
                    return try body()
                }
                rowCache.commitStaged()
                return result
            } catch {
                rowCache.discardStaged()
                throw error
            }
        }
    }

    public var schemaVersion: Int {
        locked { Int((try? connection.scalar("PRAGMA user_version")) ?? 0) }
    }

    /// Copies the WAL into the database without blocking the writer (a
    /// PASSIVE checkpoint on a second connection). Called about once a second.
    public func checkpoint() throws {
        try checkpointer.withLock { existing throws in
            if existing == nil {
                let made = try SQLiteConnection(path: path)
                try made.execute("PRAGMA busy_timeout=1000")
                existing = made
            }
            try existing?.execute("PRAGMA wal_checkpoint(PASSIVE)")
        }
    }

    /// Takes the writer's lock and runs a trivial query: returns only when
    /// the single writer connection is free (the watchdog's check that the
    /// store is not stuck).
    public func probeWriter() throws {
        try locked { _ = try connection.scalar("SELECT 1") }
    }

    /// Adds to one of the store's durable counters (inside the writer's transaction).
    func bump(_ counter: String, by amount: Int64 = 1) throws {
        try connection.run(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            [.text(counter), .integer(amount)])
    }
}

extension SQLiteValue {
    /// A channel column: NULL when the series has none.
    static func channel(_ channel: Int?) -> SQLiteValue { channel.map { .integer(Int64($0)) } ?? .null }
    /// An optional text column.
    static func optional(_ text: String?) -> SQLiteValue { text.map { .text($0) } ?? .null }
}

/// What the store finds that it cannot use: a stored name this release does
/// not know (a database written by another version, or edited by hand).
public struct StoreDataError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }

    static func metric(_ row: SQLiteValue) -> StoreDataError {
        StoreDataError(message: "unknown metric '\(row.string ?? "NULL")' in the database")
    }
    static func kind(_ row: SQLiteValue) -> StoreDataError {
        StoreDataError(message: "unknown sensor kind '\(row.string ?? "NULL")' in the database")
    }
}

extension Metric {
    /// The metric a stored name stands for; an unknown one is an error, never skipped.
    static func stored(_ value: SQLiteValue) throws -> Metric {
        guard let name = value.string, let metric = Metric.named(name) else { throw StoreDataError.metric(value) }
        return metric
    }
}

extension SensorKind {
    /// The kind a stored name stands for; an unknown one is an error, never skipped.
    static func stored(_ value: SQLiteValue) throws -> SensorKind {
        guard let name = value.string, let kind = SensorKind(rawValue: name) else { throw StoreDataError.kind(value) }
        return kind
    }
}
