import Foundation
import Readings
import Testing
@testable import Store

/// Migration 16: `device_sessions` rows sit in the order devices first
/// reported, so the devices one batch rewrites sit together (with 100,000
/// devices out of step, device order cost a page of WAL per uplink).
@Suite struct SessionOrderTests {
    /// Records one uplink for each of `devices`, in that order, in one batch.
    static func report(_ store: GatewayStore, _ devices: [String], at time: EpochMillis) throws {
        let ids = try store.commitUplinks(devices.map { ArrivedMessage(topic: "t/\($0)", message: Array("\(time)/\($0)".utf8), receivedAt: time) })
            .compactMap { result -> Int64? in if case let .stored(id) = result { id } else { nil } }
        _ = try store.record(zip(ids, devices).map { id, device in
            ProcessedUplink(uplinkID: id, outcome: .ignored(FrameFacts(envelope: "chirpstack", device: device, fCnt: nil, fPort: 0, networkTime: nil),
                                                            reason: "mac only"))
        }, now: time)
    }

    @Test func rowsStayInTheOrderDevicesFirstReported() throws {
        let directory = try EarlierSchema.directory("session-order")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try GatewayStore(path: directory + "/s.sqlite")
        let firstOrder = ["d7", "d2", "d9", "d0"]
        try Self.report(store, firstOrder, at: 1_000)
        try Self.report(store, ["d3"], at: 2_000)
        // Reported again, in another order: each row is rewritten where it is.
        try Self.report(store, ["d0", "d3", "d9", "d2", "d7"], at: 3_000)
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
        try Self.report(store, ["a"], at: 5_000)
        #expect(try store.deviceActivity()["a"].map { [$0.uplinks, $0.lastSeen] } == [10, 5_000])
        #expect(try store.locked { try store.connection.scalar("SELECT count(*) FROM device_sessions") } == 4)
    }
}
