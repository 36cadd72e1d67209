import Foundation
import Readings
import Testing
@testable import Store

/// Migration 16: `device_sessions` rows sit in the order devices first
/// reported, so the devices one batch rewrites sit together (with 100,000
/// devices out of step, device order cost a page of WAL per uplink).
@Suite struct SessionOrderTests {
    @Test func rowsStayInTheOrderDevicesFirstReported() throws {
        let directory = try EarlierSchema.directory("session-order")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try GatewayStore(path: directory + "/s.sqlite")
        let firstOrder = ["d7", "d2", "d9", "d0"]
        try store.recordReports(of: firstOrder, at: 1_000)
        try store.recordReports(of: ["d3"], at: 2_000)
        // Reported again, in another order: each row is rewritten where it is.
        try store.recordReports(of: ["d0", "d3", "d9", "d2", "d7"], at: 3_000)
        let rows = try store.locked { try store.connection.query("SELECT device, uplinks, last_seen_ms FROM device_sessions ORDER BY rowid") }
        #expect(rows.compactMap(\.[0].string) == firstOrder + ["d3"])
        #expect(rows.map { $0[1].int } == [2, 2, 2, 2, 2] && rows.allSatisfy { $0[2].int == 3_000 })
        // The device is still the key: a lookup is a search of its index, not a scan.
        let plan = try store.locked {
            try store.connection.query("EXPLAIN QUERY PLAN SELECT session_start_id FROM device_sessions WHERE device = ?", [.text("d9")])
        }.compactMap { $0[3].string }.joined(separator: "; ")
        #expect(plan.contains("SEARCH device_sessions USING INDEX"), "\(plan)")
    }

    @Test func migrationSixteenKeepsEverySessionInReportOrder() throws {
        let directory = try EarlierSchema.directory("session-migrate")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/old.sqlite"
        // Device order (a, b, c, d) is not report order (d, b, c, a); a device
        // never seen (a join only) has no last report and goes first.
        let before: [[SQLiteValue]] = [
            [.text("a"), .integer(5), .integer(17), .blob([1, 2, 3]), .integer(9), .integer(4_000)],
            [.text("b"), .integer(0), .null, .null, .integer(1), .integer(2_000)],
            [.text("c"), .integer(7), .integer(65_535), .blob([]), .integer(3), .integer(3_000)],
            [.text("d"), .integer(2), .null, .null, .integer(0), .null],
        ]
        try EarlierSchema.database(at: path, version: 15) { old in
            #expect(try old.query("SELECT sql FROM sqlite_master WHERE name = 'device_sessions'").first?[0].string?.contains("WITHOUT ROWID") == true)
            for row in before {
                try old.run("INSERT INTO device_sessions (device, session_start_id, last_fcnt, recent_frames, uplinks, last_seen_ms) VALUES (?, ?, ?, ?, ?, ?)", row)
            }
        }
        let store = try GatewayStore(path: path)
        #expect(store.schemaVersion == Schema.version)
        let after = try store.locked {
            try store.connection.query("SELECT device, session_start_id, last_fcnt, recent_frames, uplinks, last_seen_ms FROM device_sessions ORDER BY rowid")
        }
        #expect(after.compactMap(\.[0].string) == ["d", "b", "c", "a"])
        #expect(after == [before[3], before[1], before[2], before[0]])
        #expect(try store.locked { try store.connection.query("SELECT sql FROM sqlite_master WHERE name = 'device_sessions'") }
            .first?[0].string?.contains("WITHOUT ROWID") == false)
        // The unique key holds: a row for an existing device is an update.
        try store.recordReports(of: ["a"], at: 5_000)
        #expect(try store.deviceActivity()["a"].map { [$0.uplinks, $0.lastSeen] } == [10, 5_000])
        #expect(try store.locked { try store.connection.scalar("SELECT count(*) FROM device_sessions") } == 4)
    }

    /// Migrations 17 and 18 from version 16: every changed series ends in
    /// its own device's session row, with its flags; a series closed and
    /// unchanged since (its aggregate holds it) and a row with none changed
    /// go; `open_until_ms` is the earliest end; the table goes.
    @Test func migrationsSeventeenAndEighteenMoveEveryChangedSeriesIntoItsSessionRow() throws {
        let directory = try EarlierSchema.directory("accumulator-migrate")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/old.sqlite"
        let open = WindowSeries(metric: .temperature, channel: nil, accumulator: WindowAccumulator(time: 1, value: 5), changed: true, closed: false)
        let revised = WindowSeries(metric: .relativeHumidity, channel: 2, accumulator: WindowAccumulator(time: 2, value: 7), changed: true, closed: true)
        let published = WindowSeries(metric: .co2, channel: nil, accumulator: WindowAccumulator(time: 3, value: 9), changed: false, closed: true)
        // (device, window length, start, series, changed); "c" has an accumulator and no session row.
        let windows: [(String, Int64, Int64, [WindowSeries], Int64)] = [
            ("b", 60_000, 0, [open, published, revised], 1), ("a", 60_000, 0, [published], 0), ("a", 60_000, 60_000, [open], 1),
            ("c", 3_600_000, 0, [open], 1), ("b", 60_000, -60_000, [revised], 1),
        ]
        try EarlierSchema.database(at: path, version: 16) { old in
            for device in ["b", "a"] { try old.run("INSERT INTO device_sessions (device, session_start_id, uplinks, last_seen_ms) VALUES (?, 1, 1, 5)", [.text(device)]) }
            for (device, length, start, series, changed) in windows {
                try old.run("INSERT INTO window_accumulators (device, window_ms, window_start_ms, window_end_ms, series, changed) VALUES (?, ?, ?, ?, ?, ?)",
                            [.text(device), .integer(length), .integer(start), .integer(start + length), .blob(WindowSeriesCodec.encode(series)), .integer(changed)])
            }
        }
        let store = try GatewayStore(path: path)
        #expect(store.schemaVersion == Schema.version)
        try store.locked {
            func row(_ device: String) throws -> StoredDeviceRow? { try DeviceSessionBatch.storedRow(device, on: store.connection) }
            #expect(try row("b")?.windows.windows == [OpenWindow(windowLength: 60_000, windowStart: 0, series: [open, revised]),
                                                      OpenWindow(windowLength: 60_000, windowStart: -60_000, series: [revised])])
            #expect(try row("a")?.windows.windows == [OpenWindow(windowLength: 60_000, windowStart: 60_000, series: [open])])
            #expect(try row("c")?.windows.windows == [OpenWindow(windowLength: 3_600_000, windowStart: 0, series: [open])])
            let until = try store.connection.query("SELECT device, open_until_ms FROM device_sessions ORDER BY device")
            #expect(until == [[.text("a"), .integer(120_000)], [.text("b"), .integer(0)], [.text("c"), .integer(3_600_000)]])
            // The device without one got a bare session row: session 0, no counter, never seen.
            let bare = try store.connection.query("SELECT session_start_id, last_fcnt, uplinks, last_seen_ms FROM device_sessions WHERE device = 'c'")
            #expect(bare == [[.integer(0), .null, .integer(0), .null]])
            #expect(try store.connection.scalar("SELECT count(*) FROM sqlite_master WHERE name LIKE 'window_accumulators%'") == 0)
        }
        #expect(try store.deviceActivity().keys.sorted() == ["a", "b"], "a bare session row is no activity")
        #expect(try store.checkRowCache().mismatches.isEmpty)
        // Closing finds them, oldest window first.
        let closable = try store.closableWindows(graceMillis: 0, now: 3_600_000)
        #expect(closable.map { [$0.group.device, $0.group.metric.name, "\($0.group.windowStart)"] } == [
            ["b", "relative_humidity", "-60000"], ["b", "temperature", "0"], ["b", "relative_humidity", "0"], ["a", "temperature", "60000"],
            ["c", "temperature", "0"],
        ])
    }

    /// Readings whose device has no session row (the store takes them; no
    /// outcome the pipeline makes today has them): the window lives in a
    /// session row, and the device gets a bare one rather than losing them.
    @Test func readingsOfADeviceWithoutASessionRowGetOneToReferTo() throws {
        let directory = try EarlierSchema.directory("bare-session")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try GatewayStore(path: directory + "/s.sqlite")
        for (index, value) in [Int64(10), 20].enumerated() {
            guard case let .stored(id) = try store.commitUplink(topic: "t", message: [UInt8(index)], receivedAt: 1_000) else { Issue.record("not stored"); return }
            let reading = Reading(uplinkID: id, device: "stranger", metric: .temperature, channel: nil, time: 1_000, value: value)
            _ = try store.record([ProcessedUplink(uplinkID: id, outcome: .event(type: "status", device: "stranger",
                                                                                 readings: [ReadingRow(reading: reading, windowLength: 60_000, windowStart: 0)],
                                                                                 registered: false))], now: 1_000)
        }
        let found = try store.locked { try DeviceSessionBatch.storedRow("stranger", on: store.connection) }
        #expect(found?.windows.windows.count == 1, "one window took both readings")
        #expect(found?.windows.windows.first?.series.first?.accumulator?.count == 2 && found?.windows.windows.first?.series.first?.accumulator?.sum == 30)
        #expect(try store.deviceActivity()["stranger"] == nil, "not tracked: no activity")
        #expect(try store.checkRowCache().mismatches.isEmpty, "the bare row is known, not taken for absent")
    }
}

