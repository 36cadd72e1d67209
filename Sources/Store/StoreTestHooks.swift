import FoundationEssentials
import Glibc
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
        let storeSeconds = (ContinuousClock.now - storeStart).inSeconds

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
        let rawSeconds = (ContinuousClock.now - rawStart).inSeconds
        raw.close()
        return Figures(storeSeconds: storeSeconds, rawSeconds: rawSeconds)
    }

}

/// The longest single hold of the store's writer during the maintenance a
/// daemon runs against a large store (for the fault matrix,
/// `citygate benchmark-store --writer-holds`): ingest waits behind each.
public enum WriterHoldBenchmark {
    /// Fills `directory/holds.sqlite` with `rows` uplinks over a year from
    /// 1,000 devices (1 % quarantined), then times each operation's longest
    /// writer hold. Returns (operation, longest hold, rows it touched).
    public static func run(directory: String, rows: Int) throws -> [(operation: String, longest: Duration, detail: String)] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try GatewayStore(path: directory + "/holds.sqlite")
        let year: Int64 = 365 * 86_400_000
        let step = max(1, year / Int64(max(rows, 1)))
        var made = 0
        while made < rows {
            let batch = min(5_000, rows - made)
            let messages = (made..<made + batch).map { index in
                ArrivedMessage(topic: "application/bench/device/\(index % 1000)/event/up", message: Array("uplink \(index) ".utf8) + [UInt8](repeating: 0x7B, count: 600),
                               receivedAt: Int64(index) * step)
            }
            let ids = try store.commitUplinks(messages).compactMap { result -> Int64? in if case let .stored(id) = result { id } else { nil } }
            try store.checkpoint()
            _ = try store.record(ids.enumerated().map { offset, id in
                let index = made + offset
                let facts = FrameFacts(envelope: "chirpstack", device: "d\(index % 1000)", fCnt: nil, fPort: 0, networkTime: nil)
                return ProcessedUplink(uplinkID: id, outcome: index % 100 == 0
                    ? .quarantined(device: "d\(index % 1000)", facts: nil, reason: .invalidPayload, detail: "bench")
                    : .ignored(facts, reason: "bench"))
            }, now: Int64(made + batch) * step)
            made += batch
        }
        var results: [(String, Duration, String)] = []
        func measure(_ operation: String, _ body: () throws -> String) throws {
            // As the storage guard does once a second: the WAL is copied back
            // on the checkpoint's own connection, not inside a writer's commit.
            try store.checkpoint()
            _ = store.takeLongestWriterHold()
            let detail = try body()
            results.append((operation, store.takeLongestWriterHold(), detail))
        }
        let now = Int64(rows) * step
        try measure("silent-device check (device activity)") { "\(try store.deviceActivity().count) devices" }
        try measure("status figures") { "\(try store.statistics().uplinksStored) uplinks" }
        /// 50 passes as the storage guard runs them; the detail gives the
        /// median and longest single pass (each is its own writer hold).
        func passes(_ bounds: StoreBounds, aggressive: Bool) throws -> String {
            var total = 0
            var times: [Duration] = []
            for _ in 0..<50 {
                let start = ContinuousClock.now
                total += try store.prune(now: now, bounds: bounds, aggressive: aggressive).total
                times.append(ContinuousClock.now - start)
            }
            times.sort()
            func millis(_ duration: Duration) -> String { PlainText.fixed(duration.inSeconds * 1000, decimals: 1) + " ms" }
            return "\(total) rows; a pass: median \(millis(times[times.count / 2])), longest \(millis(times[times.count - 1]))"
        }
        try measure("retention pruning, 50 bounded passes") { try passes(StoreBounds(rawRetentionMillis: 30 * 86_400_000), aggressive: false) }
        try measure("pruning under pressure, 50 bounded passes") { try passes(StoreBounds(), aggressive: true) }
        try measure("requeue of the whole quarantine") { "\(try store.requeueQuarantined(reason: nil, device: nil)) uplinks" }
        try measure("one ingest burst of 1,000") {
            let burst = (0..<1000).map { ArrivedMessage(topic: "t/\($0)", message: Array("late \($0)".utf8), receivedAt: now) }
            return "\(try store.commitUplinks(burst).count) uplinks"
        }
        // A city's fleet at a window's end: 100,000 devices with a window open
        // each (their open windows live in their session rows, migration 18),
        // closed as the aggregation stage closes them, at most 1,000 devices a call.
        let fleet = 100_000, window: Int64 = 900_000
        let start = now - now % window
        for first in stride(from: 0, to: fleet, by: 5_000) {
            let devices = (first..<min(fleet, first + 5_000)).map { "city\($0)" }
            let ids = try store.commitUplinks(devices.map { ArrivedMessage(topic: "t/\($0)", message: Array("reading \($0)".utf8), receivedAt: start + 1) })
                .compactMap { result -> Int64? in if case let .stored(id) = result { id } else { nil } }
            _ = try store.record(zip(ids, devices).map { id, device in
                let reading = Reading(uplinkID: id, device: device, metric: .temperature, channel: nil, time: start + 1, value: id)
                return ProcessedUplink(uplinkID: id, outcome: .decoded(FrameFacts(envelope: "chirpstack", device: device, fCnt: 1, fPort: 1, networkTime: nil),
                                                                      [ReadingRow(reading: reading, windowLength: window, windowStart: start)]))
            }, now: start + 1)
        }
        try measure("closing one window of 100,000 devices, 1,000 a call") {
            var closed = 0, calls = 0
            while true {
                let windows = try store.closableWindows(graceMillis: 0, now: start + window)
                guard !windows.isEmpty else { break }
                try store.saveAggregates(windows.map {
                    AggregateRecord(windowKey: "\($0.group.device)/\(start)", group: $0.group, kind: .generic, statistics: $0.accumulator.statistics,
                                    sum: $0.accumulator.sum)
                }, hubs: ["hub"], now: start + window)
                closed += windows.count
                calls += 1
            }
            return "\(closed) windows in \(calls) calls"
        }
        return results
    }
}

/// What `StoredRowCache` holds against the rows themselves (for tests).
public struct RowCacheCheck: Sendable {
    /// Session rows copied.
    public var copies: Int
    /// Lookups answered from a copy, and lookups that read the row.
    public var hits: Int
    public var misses: Int
    /// Misses that read nothing: the row was known not to exist.
    public var readsSpared: Int
    /// Each copy that differs from its row as read now, and each row taken for absent.
    public var mismatches: [String]
}

extension GatewayStore {
    /// Reads the row of every copy in the cache and says which differ. In a
    /// transaction, as a batch would: its beginning drops copies that another
    /// connection's commit made stale.
    public func checkRowCache() throws -> RowCacheCheck {
        try transaction {
            let copies = rowCache.copies
            var mismatches: [String] = []
            for (device, copy) in copies {
                let stored = try DeviceSessionBatch.storedRow(device, on: connection)
                if stored != copy { mismatches.append("row of \(device): copy \(copy), row \(String(describing: stored))") }
            }
            for row in try connection.query("SELECT device, open_windows, open_until_ms FROM device_sessions") {
                guard let device = row[0].string else { continue }
                // No row there may be taken for absent.
                if rowCache.takesForAbsent(session: device) { mismatches.append("session of \(device): taken for absent") }
                // A row keeps only changed series, and its open_until_ms is its earliest window's end (what closing and retention ask).
                let windows = try OpenWindowsCodec.decode(row[1].bytes)
                if windows != windows.stored { mismatches.append("open windows of \(device) hold unchanged series: \(windows)") }
                if row[2].int != windows.earliestEnd {
                    mismatches.append("open windows of \(device) end first at \(String(describing: windows.earliestEnd)), open_until_ms says \(String(describing: row[2].int))")
                }
            }
            // An identifier whose row is an earlier connection's must be in the set.
            for row in try connection.query("SELECT r.packet_id, u.received_ms FROM recent_packets r JOIN uplinks u ON u.id = r.uplink_id") {
                guard let packetID = row[0].int.map(Int.init(truncatingIfNeeded:)), let received = row[1].int,
                      let (connectedAt, holds) = rowCache.earlierPacket(packetID), received < connectedAt, !holds else { continue }
                mismatches.append("packet \(packetID): its row (received \(received)) is older than the connection (\(connectedAt)), not in the set")
            }
            return RowCacheCheck(copies: copies.count, hits: rowCache.hits, misses: rowCache.misses,
                                 readsSpared: rowCache.knowledge.readsSpared, mismatches: mismatches)
        }
    }
}
