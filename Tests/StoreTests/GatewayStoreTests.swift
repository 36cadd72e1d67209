import Foundation
import Readings
@testable import Store
import Testing

@Suite struct GatewayStoreTests {
    static func temporaryStore(deduplication: DeduplicationPolicy = .init()) throws -> (GatewayStore, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("citygate-store-\(UUID().uuidString)").path
        let path = directory + "/test.sqlite"
        return (try GatewayStore(path: path, deduplication: deduplication), directory)
    }

    static func facts(_ device: String, _ fCnt: UInt32?) -> FrameFacts {
        FrameFacts(envelope: "chirpstack", device: device, fCnt: fCnt, fPort: 1, networkTime: nil)
    }

    @Test func migratesAnEmptyFileAndReopens() throws {
        let (store, directory) = try Self.temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(store.schemaVersion == Schema.version)
        let again = try GatewayStore(path: store.path)
        #expect(again.schemaVersion == Schema.version && Schema.version == 18)
    }

    @Test func aRedeliveryIsTheSameMessageAndPacketIdOnALaterConnection() throws {
        let (store, directory) = try Self.temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bytes: [UInt8] = [1, 2, 3]
        func commit(_ topic: String = "t/1", at time: EpochMillis, packet: Int?, connectedAt: EpochMillis) throws -> IngestResult {
            try store.commitUplink(topic: topic, message: bytes, receivedAt: time,
                                   delivery: packet.map { BrokerDelivery(packetID: $0, connectedAt: connectedAt) })
        }
        guard case let .stored(id) = try commit(at: 1_000, packet: 7, connectedAt: 500) else { Issue.record("first not stored"); return }
        // Sent again after a reconnect with its packet id: a redelivery.
        #expect(try commit(at: 2_000, packet: 7, connectedAt: 1_500) == .duplicate(of: id))
        // The same bytes under another packet id, on the first connection
        // (no broker resends within one), at QoS 0, or on another topic: new messages.
        for again in [try commit(at: 3_000, packet: 8, connectedAt: 1_500), try commit(at: 3_100, packet: 7, connectedAt: 500),
                      try commit(at: 3_200, packet: nil, connectedAt: 0), try commit("t/2", at: 3_300, packet: 7, connectedAt: 3_000)] {
            guard case .stored = again else { Issue.record("\(again) should be a new uplink"); continue }
        }
        let statistics = try store.statistics()
        #expect(statistics.uplinksStored == 5 && statistics.duplicates == 1 && statistics.uplinksPending == 5)
    }

    /// Migration 9: redeliveries are found by packet identifier in
    /// `recent_packets`, which an upgraded database fills from the uplinks it
    /// has (the last message per identifier), so a message committed before
    /// the upgrade and resent after it is still recognised.
    @Test func aRedeliveryAfterTheUpgradeToRecentPacketsIsRecognised() throws {
        let directory = try EarlierSchema.directory("store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/v8.sqlite"
        let first: [UInt8] = [1], second: [UInt8] = [2], third: [UInt8] = [3]
        try EarlierSchema.database(at: path, version: 8) { old in
            // Packet id 5 was used twice (acknowledged, then reused); 6 once.
            for (id, message, packet) in [(1, first, 5), (2, second, 5), (3, third, 6)] {
                try old.run("INSERT INTO uplinks (id, received_ms, topic, message_hash, packet_id) VALUES (?, 1000, 't', ?, ?)",
                            [.integer(Int64(id)), .integer(GatewayStore.messageHash(topic: "t", message: message)), .integer(Int64(packet))])
                try old.run("INSERT INTO uplink_messages (uplink_id, message) VALUES (?, ?)", [.integer(Int64(id)), .blob(message)])
            }
        }
        let store = try GatewayStore(path: path)
        #expect(store.schemaVersion == Schema.version)
        #expect(try store.connection.query("SELECT packet_id, uplink_id FROM recent_packets ORDER BY packet_id").map { $0.compactMap(\.int) } == [[5, 2], [6, 3]])
        #expect(try store.connection.query("SELECT name FROM sqlite_master WHERE name = 'uplinks_by_hash'").isEmpty)
        func resend(_ message: [UInt8], packet: Int) throws -> IngestResult {
            try store.commitUplink(topic: "t", message: message, receivedAt: 5_000, delivery: BrokerDelivery(packetID: packet, connectedAt: 4_000))
        }
        #expect(try resend(second, packet: 5) == .duplicate(of: 2))
        #expect(try resend(third, packet: 6) == .duplicate(of: 3))
        // The older message under 5 was acknowledged (5 was reused): sent again, it is new.
        guard case let .stored(id) = try resend(first, packet: 5) else { Issue.record("an acknowledged message taken for a redelivery"); return }
        #expect(try store.connection.scalar("SELECT uplink_id FROM recent_packets WHERE packet_id = 5") == id)
    }

    /// Migrations 10 and 12: quarantined frames carry their frame key, and
    /// migration 12 turns the kept frames into the session's memory, so a
    /// copy of a frame quarantined before the upgrade is still found as a copy.
    @Test func aQuarantinedFrameFromBeforeTheUpgradeStillHasItsCopiesFound() throws {
        let directory = try EarlierSchema.directory("store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/v9.sqlite"
        try EarlierSchema.database(at: path, version: 9) { old in
            try old.run("INSERT INTO uplinks (id, received_ms, topic, message_hash, state, device, fcnt) VALUES (1, 1000, 't', 1, 2, 'd1', 7)")
            try old.run("INSERT INTO device_sessions (device, session_start_id, last_fcnt) VALUES ('d1', 1, 7)")
        }
        let store = try GatewayStore(path: path)
        #expect(try store.connection.scalar("SELECT count(*) FROM uplinks WHERE frame_key = 'd1/7' AND state = 2") == 1)
        guard case let .stored(copy) = try store.commitUplink(topic: "t", message: [9], receivedAt: 2_000),
              case let .stored(other) = try store.commitUplink(topic: "t", message: [8], receivedAt: 2_000) else { Issue.record("not stored"); return }
        func bad(_ fCnt: UInt32) -> ProcessedOutcome { .quarantined(device: "d1", facts: Self.facts("d1", fCnt), reason: .implausible, detail: "x") }
        let summary = try store.record([ProcessedUplink(uplinkID: copy, outcome: bad(7)), ProcessedUplink(uplinkID: other, outcome: bad(8))], now: 3_000)
        #expect(summary.duplicateFrames == [copy] && summary.quarantined == 1)
    }

    @Test func frameCopiesAreDuplicatesUntilTheSessionRestarts() throws {
        let (store, directory) = try Self.temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var ids: [Int64] = []
        for index in 0..<5 {
            guard case let .stored(id) = try store.commitUplink(topic: "t", message: [UInt8(index)], receivedAt: 1_000) else { return }
            ids.append(id)
        }
        // fCnt 50, a second copy of 50, 51, then a reset to 0 (battery swap), then 0 again.
        let outcomes: [(Int64, UInt32)] = [(ids[0], 50), (ids[1], 50), (ids[2], 51), (ids[3], 0), (ids[4], 0)]
        let summary = try store.record(outcomes.map { ProcessedUplink(uplinkID: $0.0, outcome: .decoded(Self.facts("d1", $0.1), [])) }, now: 2_000)
        #expect(summary.duplicateFrames == [ids[1], ids[4]])
    }

    /// A copy of a quarantined frame is a duplicate, but after a rejoin (join
    /// event) or a counter restart the same counter quarantined again is a
    /// new frame (found by the simulator: the second one was counted as a copy).
    @Test func quarantinedCopiesAreDuplicatesOnlyWithinTheSession() throws {
        let (store, directory) = try Self.temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func commit(_ index: UInt8) throws -> Int64 {
            guard case let .stored(id) = try store.commitUplink(topic: "t", message: [index], receivedAt: 1_000) else { throw CancellationError() }
            return id
        }
        func bad(_ fCnt: UInt32) -> ProcessedOutcome { .quarantined(device: "d1", facts: Self.facts("d1", fCnt), reason: .implausible, detail: "x") }
        let ids = try (0..<9).map { try commit(UInt8($0)) }
        let summary = try store.record([
            ProcessedUplink(uplinkID: ids[0], outcome: bad(0)),
            ProcessedUplink(uplinkID: ids[1], outcome: bad(0)),                                   // a copy
            ProcessedUplink(uplinkID: ids[2], outcome: .decoded(Self.facts("d1", 1), [])),
            ProcessedUplink(uplinkID: ids[3], outcome: .event(type: "join", device: "d1", readings: [])),
            ProcessedUplink(uplinkID: ids[4], outcome: bad(0)),                                   // new session: a new frame
            ProcessedUplink(uplinkID: ids[5], outcome: .decoded(Self.facts("d1", 1), [])),
            ProcessedUplink(uplinkID: ids[6], outcome: .decoded(Self.facts("d1", 40), [])),
            ProcessedUplink(uplinkID: ids[7], outcome: bad(1)),                                   // counter restart, no join: new
            ProcessedUplink(uplinkID: ids[8], outcome: bad(1)),                                   // its copy
        ], now: 2_000)
        #expect(summary.duplicateFrames == [ids[1], ids[8]])
        #expect(summary.quarantined == 3)
    }

    /// Sessions are kept in memory through a batch and written back at its
    /// end: the next batch (and a reopened store) sees the last counter and
    /// the session a join started.
    @Test func sessionsCarryFromOneBatchToTheNext() throws {
        let (store, directory) = try Self.temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ids = try (0..<6).map { index -> Int64 in
            guard case let .stored(id) = try store.commitUplink(topic: "t", message: [UInt8(index)], receivedAt: 1_000) else { throw CancellationError() }
            return id
        }
        func frame(_ index: Int, _ fCnt: UInt32) -> ProcessedUplink { ProcessedUplink(uplinkID: ids[index], outcome: .decoded(Self.facts("d1", fCnt), [])) }
        let first = try store.record([frame(0, 50), frame(1, 51)], now: 2_000)
        #expect(first.duplicateFrames.isEmpty && first.frameGaps.isEmpty)
        let reopened = try GatewayStore(path: store.path)
        let second = try reopened.record([frame(2, 51), frame(3, 54)], now: 2_000)
        #expect(second.duplicateFrames == [ids[2]])
        #expect(second.frameGaps == [ids[3]: 2])
        _ = try reopened.record([ProcessedUplink(uplinkID: ids[4], outcome: .event(type: "join", device: "d1", readings: []))], now: 2_000)
        let third = try reopened.record([frame(5, 51)], now: 2_000)
        #expect(third.duplicateFrames.isEmpty && third.frameGaps.isEmpty)
    }

    @Test func framesWithoutCounterDeduplicateOnPayloadWithinTheWindow() throws {
        let (store, directory) = try Self.temporaryStore(deduplication: DeduplicationPolicy(uncountedWindowMillis: 60_000))
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func frame(_ index: UInt8, payload: [UInt8], at time: EpochMillis) throws -> Int64 {
            guard case let .stored(id) = try store.commitUplink(topic: "nbiot/dev", message: [index] + payload, receivedAt: time) else { return -1 }
            let facts = FrameFacts(envelope: "nbiot", device: "dev", fCnt: nil, fPort: nil, networkTime: nil, payloadFingerprint: FNV1a.hash(payload))
            let summary = try store.record([ProcessedUplink(uplinkID: id, outcome: .decoded(facts, []))], now: time)
            return summary.duplicateFrames.isEmpty ? 0 : 1
        }
        #expect(try frame(1, payload: [1, 2], at: 1_000) == 0)
        #expect(try frame(2, payload: [1, 2], at: 2_000) == 1)       // same payload within the window
        #expect(try frame(3, payload: [1, 3], at: 3_000) == 0)       // another payload
        #expect(try frame(4, payload: [1, 2], at: 120_000) == 0)     // the same payload an hour later is a new reading
    }

    @Test func quarantineKeepsBytesAndReason() throws {
        let (store, directory) = try Self.temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard case let .stored(id) = try store.commitUplink(topic: "t", message: [0xDE, 0xAD], receivedAt: 1) else { return }
        _ = try store.record([ProcessedUplink(uplinkID: id, outcome: .quarantined(device: nil, facts: nil, reason: .malformedJSON, detail: "malformed JSON: x"))], now: 2)
        let rows = try store.quarantineRows()
        #expect(rows.count == 1 && rows[0].uplinkID == id && rows[0].message == [0xDE, 0xAD] && rows[0].category == "malformed_json")
        #expect(try store.pendingUplinks(limit: 10).isEmpty)
    }

    @Test func pendingUplinksAfterAnIdLeaveOutTheBatchBeingRecorded() throws {
        let (store, directory) = try Self.temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ids = try store.commitUplinks((1...5).map { ArrivedMessage(topic: "t", message: [UInt8($0)], receivedAt: 1) }).compactMap { result -> Int64? in
            if case let .stored(id) = result { return id } else { return nil }
        }
        #expect(ids.count == 5)
        #expect(try store.pendingUplinks(limit: 2).map(\.id) == Array(ids[0..<2]))
        #expect(try store.pendingUplinks(after: ids[1], limit: 2).map(\.id) == Array(ids[2..<4]))
        #expect(try store.pendingUplinks(after: ids[4], limit: 2).isEmpty)
        // Recorded rows are not pending, whatever the cursor.
        _ = try store.record([ProcessedUplink(uplinkID: ids[2], outcome: .quarantined(device: nil, facts: nil, reason: .malformedJSON, detail: "x"))], now: 2)
        #expect(try store.pendingUplinks(after: ids[1], limit: 5).map(\.id) == [ids[3], ids[4]])
    }

    @Test func windowsCloseAggregateAndReopenAsRevisions() throws {
        let (store, directory) = try Self.temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func addReading(_ index: UInt8, value: Int64, time: EpochMillis) throws {
            guard case let .stored(id) = try store.commitUplink(topic: "t", message: [index], receivedAt: time) else { return }
            let reading = Reading(uplinkID: id, device: "d1", metric: .temperature, channel: nil, time: time, value: value)
            _ = try store.record([ProcessedUplink(uplinkID: id, outcome: .decoded(Self.facts("d1", UInt32(index)), [ReadingRow(reading: reading, windowLength: 10_000, windowStart: 0)]))], now: time)
        }
        try addReading(1, value: 2000, time: 1_000)
        try addReading(2, value: 2100, time: 2_000)
        #expect(try store.closableWindows(graceMillis: 1_000, now: 10_500).isEmpty)  // still in grace
        let windows = try store.closableWindows(graceMillis: 1_000, now: 11_000)
        #expect(windows.count == 1)
        let groups = windows.map(\.group)
        #expect(windows[0].accumulator.statistics == WindowStatistics(count: 2, min: 2000, max: 2100, mean: 2050, last: 2100, lastTime: 2_000))
        // With its exact sum, as closing saves it: a revision takes up from there.
        let record = AggregateRecord(windowKey: "k", group: groups[0], kind: .generic, statistics: windows[0].accumulator.statistics,
                                     sum: windows[0].accumulator.sum)
        try store.saveAggregates([record], hubs: ["h"], now: 11_000)
        #expect(try store.closableWindows(graceMillis: 1_000, now: 11_000).isEmpty)
        var pending = try store.pendingDeliveries(hub: "h", limit: 10)
        #expect(pending.count == 1 && pending[0].revision == 1)
        try store.markInFlight(hub: "h", [pending[0].aggregateID], now: 11_000)
        try store.markDelivered(hub: "h", [(pending[0].aggregateID, 1, "ref-1")], now: 11_001)
        #expect(try store.pendingDeliveries(hub: "h", limit: 10).isEmpty)
        // A late reading re-opens the window: revision 2, and the hub's ref is kept for an update.
        // (Recorded at 3 000, before the window's end, as after a clock that stepped back: the
        // store knows the window closed from how far closing has gone, not from the clock.)
        try addReading(3, value: 2200, time: 3_000)
        let reopened = try store.closableWindows(graceMillis: 1_000, now: 12_000)
        #expect(reopened.map(\.group) == groups)
        #expect(reopened.first?.accumulator.statistics == WindowStatistics(count: 3, min: 2000, max: 2200, mean: 2100, last: 2200, lastTime: 3_000))
        try store.saveAggregates([AggregateRecord(windowKey: "k", group: groups[0], kind: .generic, statistics: reopened[0].accumulator.statistics)],
                                 hubs: ["h"], now: 12_000)
        pending = try store.pendingDeliveries(hub: "h", limit: 10)
        #expect(pending.count == 1 && pending[0].revision == 2 && pending[0].hubRef == "ref-1")
        let statistics = try store.statistics()
        #expect(statistics.hubs["h"]?.backlog == 1)
    }

    @Test func aReadingCommittedWhileAWindowIsAggregatedWaitsForTheNextRevision() throws {
        let (store, directory) = try Self.temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func addReading(_ index: UInt8, value: Int64) throws {
            guard case let .stored(id) = try store.commitUplink(topic: "t", message: [index], receivedAt: 1_000) else { return }
            let reading = Reading(uplinkID: id, device: "d1", metric: .temperature, channel: nil, time: 1_000, value: value)
            _ = try store.record([ProcessedUplink(uplinkID: id, outcome: .decoded(Self.facts("d1", UInt32(index)), [ReadingRow(reading: reading, windowLength: 10_000, windowStart: 0)]))], now: 1_000)
        }
        try addReading(1, value: 2000)
        let window = try #require(try store.closableWindows(graceMillis: 0, now: 20_000).first)
        try addReading(2, value: 3000)  // lands between the read and the save
        let record = AggregateRecord(windowKey: "k", group: window.group, kind: .generic, statistics: window.accumulator.statistics)
        #expect(record.statistics.count == 1)
        try store.saveAggregates([record], hubs: ["h"], now: 20_000)
        // The window took a reading after it was read: it closes again, with both.
        let again = try store.closableWindows(graceMillis: 0, now: 20_000)
        #expect(again.map(\.group) == [window.group])
        #expect(again.first?.accumulator.statistics == WindowStatistics(count: 2, min: 2000, max: 3000, mean: 2500, last: 3000, lastTime: 1_000))
    }

    /// Outside systemd nobody else may read the store: the directory it makes
    /// is 0700, the database and its WAL 0600 (issue 18, item 3).
    @Test func theStoreIsTheOwnersAlone() throws {
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("citygate-mode-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let store = try GatewayStore(path: parent + "/state/citygate.sqlite")
        _ = try store.commitUplink(topic: "t", message: [1], receivedAt: 1)
        func mode(_ path: String) throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? -1) & 0o777
        }
        #expect(try mode(parent + "/state") == 0o700)
        #expect(try mode(parent + "/state/citygate.sqlite") == 0o600)
        #expect(try mode(parent + "/state/citygate.sqlite-wal") == 0o600)
    }
}
