import Foundation
import Readings
import Testing
@testable import Store

@Suite struct StoreBoundsTests {
    @Test func migratesFromEveryEarlierVersion() throws {
        for version in 0..<Schema.version {
            let directory = try EarlierSchema.directory("migrate")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let path = directory + "/old.sqlite"
            // A database as an earlier citygate left it, with a row in it.
            try EarlierSchema.database(at: path, version: version) { old in
                if version >= 1 {
                    try old.run("INSERT INTO uplinks (received_ms, topic, message_hash) VALUES (1, 't', 7)")
                    try old.run("INSERT INTO uplink_messages (uplink_id, message) VALUES (1, x'01')")
                }
            }
            let store = try GatewayStore(path: path)
            #expect(store.schemaVersion == Schema.version, "from version \(version)")
            #expect(try store.statistics().uplinksStored == (version >= 1 ? 1 : 0))
            let indexes = try store.connection.query("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE '%_by_%'").compactMap(\.[0].string)
            #expect(indexes.contains("aggregates_by_series") && indexes.contains("device_sessions_by_open_until"))
            // Migration 18: open windows live in session rows; no table of accumulators.
            #expect(try store.connection.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'window_accumulators'") == 0)
            // Migration 11: no index over every reading but the one by uplink.
            #expect(!indexes.contains("readings_by_window") && !indexes.contains("readings_by_device_window"))
            #expect(try store.connection.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'readings_unaggregated'") == 0)
            // Migration 12: copies are found through the session row, not an index over every uplink.
            #expect(try store.connection.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'uplinks_by_frame'") == 0)
            // Migration 13: an uplink's readings are one row; `readings` is a view over them.
            #expect(try store.connection.query("SELECT type FROM sqlite_master WHERE name = 'readings'").compactMap(\.[0].string) == ["view"])
            #expect(try store.connection.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'readings_by_uplink'") == 0)
        }
    }

    /// Closing reads the session rows with an ended window in order of their
    /// earliest end, retention asks the earliest, and a recorded batch finds
    /// a device's row by its device: seeks, never a scan of the table (every
    /// aggregation tick, pruning pass and recorded batch run them).
    @Test func windowsAreFoundThroughTheirKeyAndTheStateIndex() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("citygate-plan-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try GatewayStore(path: directory + "/db.sqlite")
        func plan(_ sql: String, _ parameters: [SQLiteValue]) throws -> [String] {
            try store.connection.query("EXPLAIN QUERY PLAN " + sql, parameters).compactMap { $0[3].string }
        }
        let closing = try plan(GatewayStore.closableWindowsQuery, [.integer(0), .integer(10)])
        #expect(closing.contains { $0.contains("USING INDEX device_sessions_by_open_until (open_until_ms<?)") }, "\(closing)")
        #expect(!closing.contains { $0.contains("TEMP B-TREE") }, "ordered by the index: \(closing)")
        let earliest = try plan(GatewayStore.earliestOpenWindowEndQuery, [])
        #expect(earliest.contains { $0.contains("USING COVERING INDEX device_sessions_by_open_until") }, "\(earliest)")
        #expect(!earliest.contains { $0.contains("TEMP B-TREE") }, "ordered by the index: \(earliest)")
        let lookup = try plan(DeviceSessionBatch.storedRowQuery, [.text("d")])
        #expect(lookup.contains { $0.contains("SEARCH device_sessions USING INDEX sqlite_autoindex_device_sessions") }, "\(lookup)")
        let aggregate = try plan(DeviceSessionBatch.aggregateQuery, [.text("d"), .text("temperature"), .integer(1), .integer(0), .null])
        #expect(aggregate.contains { $0.contains("USING INDEX aggregates_by_series") }, "\(aggregate)")
    }

    @Test func refusesADatabaseFromANewerCitygate() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("citygate-newer-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let connection = try SQLiteConnection(path: directory + "/db.sqlite")
        try connection.execute("PRAGMA user_version = 99")
        connection.close()
        #expect(throws: SQLiteError.self) { try GatewayStore(path: directory + "/db.sqlite") }
    }

    /// `PRAGMA max_page_count` gives a real SQLITE_FULL without mount rights.
    @Test func aFullStoreSaysSoAndPruningMakesRoom() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("citygate-full-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try GatewayStore(path: directory + "/full.sqlite")
        try store.apply(StoreBounds(maxSizeBytes: 2 << 20))
        // Bytes of their own that do not compress (migration 14 stores a
        // message compressed when that saves bytes): each takes its 2,000 bytes.
        func payload(_ index: Int) -> [UInt8] {
            var seed = 0x2545_F491_4F6C_DD1D ^ UInt64(bitPattern: Int64(index))
            return (0..<2000).map { _ -> UInt8 in
                seed ^= seed << 13
                seed ^= seed >> 7
                seed ^= seed << 17
                return UInt8(truncatingIfNeeded: seed)
            }
        }
        var committed: [Int64] = []
        func commit(_ index: Int) throws {
            let delivery = BrokerDelivery(packetID: index % 65_535 + 1, connectedAt: 0)
            if case let .stored(id) = try store.commitUplink(topic: "t/\(index)", message: payload(index), receivedAt: Int64(index), delivery: delivery) {
                committed.append(id)
            }
        }
        // Up to the bound, committing and decoding in small batches as the
        // daemon does: no error yet (the bound is where the gateway pauses).
        let facts = FrameFacts(envelope: "chirpstack", device: "d", fCnt: nil, fPort: 1, networkTime: nil)
        var index = 0
        while try store.usage().fractionOfBound < 1.0 {
            let start = committed.count
            for _ in 0..<10 {
                try commit(index)
                index += 1
            }
            _ = try store.record(committed[start...].map { ProcessedUplink(uplinkID: $0, outcome: .ignored(facts, reason: "test")) }, now: 10_000_000)
        }
        #expect(committed.count > 500)
        // Undecoded uplinks are never pruned; decoded ones give up their raw bytes, oldest first.
        guard case let .stored(undecoded) = try store.commitUplink(topic: "t/pending", message: payload(-1), receivedAt: 1) else { return }
        let summary = try store.prune(now: 10_000_000, bounds: StoreBounds(), aggressive: true, batch: 100_000)
        #expect(summary.rawBytesStripped == committed.count)
        #expect(try store.pendingUplinks(limit: 10).map(\.id) == [undecoded])
        #expect(try store.pendingUplinks(limit: 10).first?.message == payload(-1))
        let afterPrune = try store.usage()
        #expect(afterPrune.fractionOfBound < 0.5, "\(afterPrune)")
        #expect(throws: Never.self) { try store.commitUplink(topic: "t/after", message: payload(-2), receivedAt: 20_000) }
        // A redelivery of a pruned message is still recognised as a duplicate (hash match).
        let again = try store.commitUplink(topic: "t/0", message: payload(0), receivedAt: 20_001, delivery: BrokerDelivery(packetID: 1, connectedAt: 20_000))
        #expect(again == .duplicate(of: committed[0]))
        // Past the bound and the reserve, SQLite refuses: SQLITE_FULL, reported as such.
        var full: SQLiteError?
        for more in 0..<10_000 {
            do { try commit(100_000 + more) } catch let error as SQLiteError { full = error; break }
        }
        #expect(full?.isDiskFull == true, "\(String(describing: full))")
    }

    @Test func retentionKeepsWhatIsNotDelivered() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("citygate-retention-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try GatewayStore(path: directory + "/r.sqlite")
        let day: Int64 = 86_400_000
        var ids: [Int64] = []
        for index in 0..<2 {
            guard case let .stored(id) = try store.commitUplink(topic: "t", message: [UInt8(index)], receivedAt: 0) else { return }
            ids.append(id)
            let facts = FrameFacts(envelope: "chirpstack", device: "d\(index)", fCnt: 1, fPort: 1, networkTime: nil)
            let reading = Reading(uplinkID: id, device: "d\(index)", metric: .temperature, channel: nil, time: 0, value: 100)
            _ = try store.record([ProcessedUplink(uplinkID: id, outcome: .decoded(facts, [ReadingRow(reading: reading, windowLength: 60_000, windowStart: 0)]))], now: 0)
        }
        for group in try store.closableWindows(graceMillis: 0, now: day).map(\.group) {
            let record = AggregateRecord(windowKey: "\(group.device)/w", group: group, kind: .generic,
                                         statistics: WindowStatistics(count: 1, min: 100, max: 100, mean: 100, last: 100, lastTime: 0))
            try store.saveAggregates([record], hubs: ["hub"], now: day)
        }
        // The hub took d0's window; d1's is still pending.
        let pending = try store.pendingDeliveries(hub: "hub", limit: 10)
        let delivered = try #require(pending.first { $0.record.group.device == "d0" })
        try store.markDelivered(hub: "hub", [(delivered.aggregateID, delivered.revision, "ref")], now: day)
        let bounds = StoreBounds(rawRetentionMillis: day, readingRetentionMillis: 2 * day)
        // Nothing old enough yet.
        #expect(try store.prune(now: day / 2, bounds: bounds, aggressive: false).total == 0)
        let late = try store.prune(now: 3 * day, bounds: bounds, aggressive: false)
        #expect(late.rawBytesStripped == 2 && late.readingsDeleted == 1 && late.uplinksDeleted == 1 && late.aggregatesDeleted == 1)
        // d1's reading and window wait for the hub; its uplink row stays as their parent.
        #expect(try store.statistics().readingsStored == 1)
        #expect(try store.statistics().uplinksStored == 2, "a pruned uplink still counts as stored")
        #expect(try store.pendingDeliveries(hub: "hub", limit: 10).map(\.record.group.device) == ["d1"])
    }
}
