import Foundation
import Readings
import Testing
@testable import Store

/// Metric and sensor-kind names come back from the store as checked enums:
/// an unknown one stops a migration or a read with an error naming it. (An
/// unknown stored metric once made window closing skip the window and find
/// it again forever.)
@Suite struct StoredNamesTests {
    @Test func aMigrationRefusesAMetricThisReleaseDoesNotKnow() throws {
        let directory = try EarlierSchema.directory("names")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/old.sqlite"
        try EarlierSchema.database(at: path, version: 4) { old in
            try old.run("INSERT INTO uplinks (received_ms, topic, message_hash) VALUES (1, 't', 7)")
            try old.run("""
                INSERT INTO readings (uplink_id, device, metric, channel, time_ms, value, window_ms, window_start_ms)
                VALUES (1, 'd', 'radon', NULL, 1, 5, 60000, 0)
                """)
        }
        #expect {
            try GatewayStore(path: path)
        } throws: { error in
            "\(error)".contains("'radon'")
        }
        // Nothing was half-applied: the database is still at version 4.
        let check = try SQLiteConnection(path: path, readOnly: true)
        #expect(try check.scalar("PRAGMA user_version") == 4)
    }

    @Test func aStoredNameThatIsNotKnownIsAnErrorNotASkippedWindow() throws {
        let directory = try EarlierSchema.directory("names")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try GatewayStore(path: directory + "/db.sqlite")
        try store.connection.run("INSERT INTO uplinks (received_ms, topic, message_hash) VALUES (1, 't', 7)")
        // An open window whose series names a metric this release does not know.
        let window = OpenWindow(windowLength: 60_000, windowStart: 0,
                                series: [WindowSeries(metric: .temperature, channel: nil, accumulator: WindowAccumulator(time: 1, value: 5), changed: true, closed: false)])
        var series = try #require(OpenWindowsCodec.encode(OpenWindows(windows: [window])))
        series.replaceSubrange(25...35, with: Array("temperatur3".utf8))
        try store.connection.run("INSERT INTO device_sessions (device, session_start_id, open_windows, open_until_ms) VALUES ('d', 0, ?, 60000)",
                                 [.blob(series)])
        #expect(throws: StoreDataError.self) { try store.closableWindows(graceMillis: 0, now: 1_000_000) }
        try store.connection.run("INSERT INTO rule_devices (device, kind, zone) VALUES ('r', 'volcano', NULL)")
        #expect(throws: StoreDataError.self) { try store.ruleDevice("r") }
    }

    @Test func typedWindowsRoundTrip() throws {
        let directory = try EarlierSchema.directory("names")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try GatewayStore(path: directory + "/db.sqlite")
        guard case let .stored(id) = try store.commitUplink(topic: "t", message: [1], receivedAt: 1) else { Issue.record("not stored"); return }
        let row = ReadingRow(reading: Reading(uplinkID: id, device: "d", metric: .pm2_5, channel: 2, time: 10, value: 42),
                             windowLength: 60_000, windowStart: 0)
        _ = try store.record([ProcessedUplink(uplinkID: id, outcome: .decoded(FrameFacts(envelope: "e", device: "d", fCnt: 1, fPort: 1, networkTime: nil), [row]))],
                             now: 1)
        let windows = try store.closableWindows(graceMillis: 0, now: 60_000)
        #expect(windows.map(\.group) == [WindowGroup(device: "d", metric: .pm2_5, channel: 2, windowLength: 60_000, windowStart: 0)])
        #expect(windows.first?.accumulator.statistics == WindowStatistics(count: 1, min: 42, max: 42, mean: 42, last: 42, lastTime: 10))
    }
}

/// Quarantine details quote input (a topic, a device id): kept to 512 bytes.
@Suite struct QuarantineDetailTests {
    @Test func aDetailQuotingHugeInputIsCut() throws {
        let directory = try EarlierSchema.directory("quarantine-detail")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try GatewayStore(path: directory + "/db.sqlite")
        let topic = "application/" + String(repeating: "x", count: 100_000)
        guard case let .stored(id) = try store.commitUplink(topic: topic, message: [1], receivedAt: 1) else { Issue.record("not stored"); return }
        _ = try store.record([ProcessedUplink(uplinkID: id, outcome: .quarantined(device: nil, facts: nil, reason: .noRoute,
                                                                                   detail: "no [[mqtt.subscription]] matches topic '\(topic)'"))], now: 1)
        let row = try #require(try store.quarantineRows().first)
        #expect(row.reason.utf8.count <= 512 + 40 && row.reason.hasSuffix("more bytes)"), "\(row.reason.utf8.count) bytes")
        #expect(row.message == [1], "the raw bytes are kept whole")
    }
}
