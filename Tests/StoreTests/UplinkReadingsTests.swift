import Foundation
import Readings
import Testing
@testable import Store

/// An uplink's readings are one row (migration 13, issue 17) and the
/// `readings` view shows them a row each: what goes in comes back exactly,
/// old rows move over unchanged, and retention takes an uplink's readings
/// together only once every one of them may go.
@Suite struct UplinkReadingsTests {
    /// The view's rows for one uplink, in order, as text.
    static func viewRows(_ store: GatewayStore, uplink: Int64? = nil) throws -> [String] {
        try store.connection.query(
            """
            SELECT uplink_id, position, device, metric, coalesce(channel, 'null'), time_ms, value, window_ms, window_start_ms, aggregated,
                   typeof(value) FROM readings \(uplink.map { "WHERE uplink_id = \($0)" } ?? "") ORDER BY uplink_id, position
            """).map { row in row.map { $0.int.map(String.init) ?? $0.string ?? "?" }.joined(separator: "|") }
    }

    /// Extremes of Int64 in values, times before 1970 and past 2100, a channel and none, and a
    /// reading of another device whose id needs escaping in JSON: each
    /// comes back through the view as an integer, exactly.
    @Test func whatIsStoredComesBackThroughTheViewExactly() throws {
        let (store, directory) = try WindowAccumulatorTests.store("uplink-readings")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard case let .stored(id) = try store.commitUplink(topic: "t/d", message: Array("d/1".utf8), receivedAt: 1_000) else {
            Issue.record("not stored")
            return
        }
        let odd = "quote\"back\\slash\u{1}é"
        let readings: [(DeviceID, Metric, Int?, EpochMillis, Int64)] = [
            ("d", .temperature, nil, 1_000, .max), ("d", .relativeHumidity, 3, -5, .min), (odd, .pm2_5, 0, 4_102_444_800_000, -1), ("d", .temperature, nil, -86_400_000, 0),
        ]
        let rows = readings.map {
            ReadingRow(reading: Reading(uplinkID: id, device: $0.0, metric: $0.1, channel: $0.2, time: $0.3, value: $0.4),
                       windowLength: 60_000, windowStart: Window.containing($0.3, length: 60_000).start)
        }
        let facts = FrameFacts(envelope: "chirpstack", device: "d", fCnt: 1, fPort: 1, networkTime: nil)
        let summary = try store.record([ProcessedUplink(uplinkID: id, outcome: .decoded(facts, rows))], now: 1_000)
        #expect(summary.readingsStored == 4)
        let expected = rows.enumerated().map { index, row in
            let r = row.reading
            return [String(id), String(index), r.device, r.metric.name, r.channel.map(String.init) ?? "null", String(r.time), String(r.value),
                    "60000", String(row.windowStart), "0", "integer"].joined(separator: "|")
        }
        #expect(try Self.viewRows(store) == expected)
        #expect(try store.statistics().readingsStored == 4)
        // One row for the uplink, holding the odd device only in its own element.
        #expect(try store.connection.scalar("SELECT count(*) FROM uplink_readings") == 1)
        #expect(try store.connection.query("SELECT device FROM uplink_readings").first?[0].string == "d")
        // An uplink without readings leaves no row.
        guard case let .stored(empty) = try store.commitUplink(topic: "t/d", message: Array("d/2".utf8), receivedAt: 2_000) else { return }
        _ = try store.record([ProcessedUplink(uplinkID: empty, outcome: .decoded(facts, []))], now: 2_000)
        #expect(try store.connection.scalar("SELECT count(*) FROM uplink_readings") == 1)
    }

    /// The text is written into a string of a bound computed beforehand
    /// (`ByteWriter` stops the process past it): every number of every
    /// reading at its longest, Int64.min, with a device that needs escaping,
    /// fits and reads back as JSON exactly.
    @Test func theLongestReadingsFitTheirBound() throws {
        let odd = "quote\"back\\slash\u{1}é"
        let longest = ReadingRow(reading: Reading(uplinkID: 1, device: odd, metric: .relativeHumidity, channel: .min, time: .min, value: .min),
                                 windowLength: .min, windowStart: .min)
        let text = UplinkReadingsText.encode([longest, longest], aggregated: { _ in .min }, device: "d")
        let item = "[\"relative_humidity\"" + String(repeating: ",-9223372036854775808", count: 6) + ",\"quote\\\"back\\\\slash\\u0001é\"]"
        #expect(text == "[" + item + "," + item + "]")
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[Any]])
        #expect(parsed.count == 2 && parsed[0].count == 8 && parsed[0][7] as? String == odd)
    }

    /// Migration 13 from a database as version 12 left it: every reading
    /// moves to its uplink's row in id order, with its window and whether
    /// it was aggregated, and the view shows what the table held.
    @Test func theUpgradeMovesEveryReadingUnchanged() throws {
        let directory = try EarlierSchema.directory("migrate-13")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/old.sqlite"
        let columns = "uplink_id, device, metric, coalesce(channel, 'null'), time_ms, value, window_ms, window_start_ms, aggregated"
        var before: [String] = []
        try EarlierSchema.database(at: path, version: 12) { db in
            for id in 1...3 {
                try db.run("INSERT INTO uplinks (id, received_ms, topic, message_hash, state) VALUES (?, 1, 't', 1, 1)", [.integer(Int64(id))])
            }
            // Inserted out of uplink order, as two processing batches may interleave.
            let rows: [(Int64, String, String, Int64?, Int64, Int64, Int64)] = [
                (2, "b", "temperature", nil, 5_000, .min, 0), (1, "a", "temperature", nil, 1_000, 215, 1),
                (1, "a", "relative_humidity", 2, 1_000, 455, 2), (2, "b", "pm2_5", 0, 5_000, .max, 0),
                (1, "a\"x", "pm10", nil, 1_001, -3, 0), (3, "c", "temperature", nil, -61_000, 7, 0),
            ]
            for (uplink, device, metric, channel, time, value, aggregated) in rows {
                try db.run("""
                    INSERT INTO readings (uplink_id, device, metric, channel, time_ms, value, window_ms, window_start_ms, aggregated)
                    VALUES (?, ?, ?, ?, ?, ?, 60000, ?, ?)
                    """, [.integer(uplink), .text(device), .text(metric), channel.map { .integer($0) } ?? .null, .integer(time), .integer(value),
                          .integer(Window.containing(time, length: 60_000).start), .integer(aggregated)])
            }
            before = try db.query("SELECT \(columns) FROM readings ORDER BY uplink_id, id").map { row in
                row.map { $0.int.map(String.init) ?? $0.string ?? "?" }.joined(separator: "|")
            }
        }
        let store = try GatewayStore(path: path)
        let after = try store.connection.query("SELECT \(columns) FROM readings ORDER BY uplink_id, position").map { row in
            row.map { $0.int.map(String.init) ?? $0.string ?? "?" }.joined(separator: "|")
        }
        #expect(before.count == 6)
        #expect(after == before)
        #expect(try store.connection.scalar("SELECT count(*) FROM uplink_readings") == 3)
        // The uplink's row takes its first reading's device; the other keeps its own.
        #expect(try store.connection.query("SELECT device FROM uplink_readings WHERE uplink_id = 1").first?[0].string == "a")
        #expect(try store.statistics().readingsStored == 6)
    }

    /// An uplink's readings go together, and only once each of them may: a
    /// reading in a window still changed keeps its uplink's other readings,
    /// which would have gone one by one before. Once that window closes and
    /// its aggregate is delivered, all of them go and are counted.
    @Test func retentionTakesAnUplinksReadingsTogetherOnceEachMayGo() throws {
        let (store, directory) = try WindowAccumulatorTests.store("uplink-readings-prune")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let window = WindowAccumulatorTests.window
        // Two readings in window 0, one in window 1, from one uplink.
        guard case let .stored(id) = try store.commitUplink(topic: "t/d", message: Array("d/1".utf8), receivedAt: 2 * window) else { return }
        let rows = [(Int64(1_000), Int64(0)), (2_000, 0), (window + 1_000, window)].map { time, start in
            ReadingRow(reading: Reading(uplinkID: id, device: "d", metric: .temperature, channel: nil, time: time, value: 1),
                       windowLength: window, windowStart: start)
        }
        let facts = FrameFacts(envelope: "chirpstack", device: "d", fCnt: 1, fPort: 1, networkTime: nil)
        _ = try store.record([ProcessedUplink(uplinkID: id, outcome: .decoded(facts, rows))], now: 2 * window)
        let bounds = StoreBounds(rawRetentionMillis: 0, readingRetentionMillis: 0)
        let now = 10 * window
        // Nothing closed yet: both windows' accumulators are changed.
        #expect(try store.prune(now: now, bounds: bounds, aggressive: false).readingsDeleted == 0)
        // No hub, so a closed window has nothing left to deliver.
        func close(start: EpochMillis) throws -> Int {
            let closing = try store.closableWindows(graceMillis: 0, now: now).filter { $0.group.windowStart == start }
            try store.saveAggregates(closing.map { AggregateRecord(windowKey: "\($0.group)", group: $0.group, kind: .generic,
                                                                   statistics: $0.accumulator.statistics, sum: $0.accumulator.sum) },
                                     hubs: [], now: now)
            return closing.count
        }
        // Window 0 closes; window 1 stays changed, so the uplink keeps all three.
        #expect(try close(start: 0) == 1)
        #expect(try store.prune(now: now, bounds: bounds, aggressive: false).readingsDeleted == 0)
        #expect(try Self.viewRows(store, uplink: id).count == 3)
        // Both closed: all three go, counted.
        #expect(try close(start: window) == 1)
        let pruned = try store.prune(now: now, bounds: bounds, aggressive: false)
        #expect(pruned.readingsDeleted == 3)
        #expect(try Self.viewRows(store).isEmpty)
        #expect(try store.statistics().readingsStored == 0)
    }
}
