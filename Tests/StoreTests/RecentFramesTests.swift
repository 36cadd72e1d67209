import Foundation
import Readings
import Testing
@testable import Store

/// Frame copies are recognised from the device's session row (migration 12),
/// which remembers the frames the session kept (`RecentFramesCodec`).
@Suite struct RecentFramesTests {
    func commit(_ store: GatewayStore, _ count: Int, at time: EpochMillis = 1_000) throws -> [Int64] {
        try store.commitUplinks((0..<count).map { ArrivedMessage(topic: "t", message: Array("m\($0)-\(UUID())".utf8), receivedAt: time) })
            .compactMap { result -> Int64? in if case let .stored(id) = result { id } else { nil } }
    }

    func bad(_ device: String, _ fCnt: UInt32) -> ProcessedOutcome {
        .quarantined(device: device, facts: GatewayStoreTests.facts(device, fCnt), reason: .implausible, detail: "x")
    }

    /// Requeued, a quarantined frame that fails again is quarantined again,
    /// not taken for a copy of itself; a real copy after it still is one.
    @Test func aRequeuedFrameThatFailsAgainIsQuarantinedAgain() throws {
        let (store, directory) = try GatewayStoreTests.temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ids = try commit(store, 2)
        #expect(try store.record([ProcessedUplink(uplinkID: ids[0], outcome: bad("d1", 5))], now: 2_000).quarantined == 1)
        #expect(try store.requeueQuarantined(reason: nil, device: nil) == 1)
        let again = try store.record([ProcessedUplink(uplinkID: ids[0], outcome: bad("d1", 5))], now: 3_000)
        #expect(again.quarantined == 1 && again.duplicateFrames.isEmpty)
        let copy = try store.record([ProcessedUplink(uplinkID: ids[1], outcome: bad("d1", 5))], now: 4_000)
        #expect(copy.duplicateFrames == [ids[1]] && copy.quarantined == 0)
    }

    /// A device nobody registered keeps no session; a copy of its frame is
    /// found among its quarantine samples, through their index.
    @Test func copiesOfAnUnregisteredDevicesFrameAreFoundAmongItsQuarantineSamples() throws {
        let (store, directory) = try GatewayStoreTests.temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func stranger(_ id: Int64, _ fCnt: UInt32) -> ProcessedUplink {
            ProcessedUplink(uplinkID: id, outcome: .quarantined(device: "ff01", facts: GatewayStoreTests.facts("ff01", fCnt), reason: .unknownDevice, detail: "x"))
        }
        let ids = try commit(store, 4)
        let summary = try store.record([stranger(ids[0], 9), stranger(ids[1], 9), stranger(ids[2], 10)], now: 2_000)
        #expect(summary.duplicateFrames == [ids[1]] && summary.quarantined == 2)
        #expect(try store.record([stranger(ids[3], 10)], now: 2_000 + 86_400_000).duplicateFrames.isEmpty, "past the duplicate window")
        #expect(try store.connection.scalar("SELECT count(*) FROM device_sessions") == 0)
        let plan = try store.connection.query("EXPLAIN QUERY PLAN " + GatewayStore.unregisteredCopies,
                                              [.text("ff01"), .text("unknown_device"), .integer(0), .integer(9), .integer(1)]).compactMap { $0[3].string }
        #expect(plan.contains { $0.contains("USING INDEX quarantine_by_source (source=? AND category=? AND last_seen_ms>?)") }, "\(plan)")
    }

    /// A device far behind its highest counter, or silent past the window:
    /// the bounds `RecentFrames` documents, through the store.
    @Test func copiesWithinTheSpanAndWindowAreFoundAndOthersAreNewFrames() throws {
        let (store, directory) = try GatewayStoreTests.temporaryStore(deduplication: DeduplicationPolicy(frameWindowMillis: 60_000))
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func decoded(_ id: Int64, _ fCnt: UInt32) -> ProcessedUplink { ProcessedUplink(uplinkID: id, outcome: .decoded(GatewayStoreTests.facts("d1", fCnt), [])) }
        let ids = try commit(store, 8)
        _ = try store.record([decoded(ids[0], 100), decoded(ids[1], 101), decoded(ids[2], 356)], now: 2_000)
        #expect(try store.record([decoded(ids[3], 100)], now: 3_000).duplicateFrames.isEmpty, "256 counters behind the highest: past the span")
        #expect(try store.record([decoded(ids[4], 101)], now: 3_000).duplicateFrames == [ids[4]], "255 behind: within it")
        #expect(try store.record([decoded(ids[5], 356)], now: 3_000).duplicateFrames == [ids[5]])
        #expect(try store.record([decoded(ids[6], 356)], now: 63_001).duplicateFrames.isEmpty, "silent past the duplicate window")
        #expect(try store.record([decoded(ids[7], 356)], now: 63_002).duplicateFrames == [ids[7]])
    }

    @Test func theSessionColumnRoundTripsAndADamagedOneIsAnErrorNeverATrap() throws {
        var recent = RecentFrames(lastKeptAt: -5, decoded: CounterWindow(words: [1, 0, .max, 0]), quarantined: CounterWindow(words: [0, 0, 0, 1 << 63]))
        recent.fingerprints = (0..<8).map { SeenFingerprint(value: .min + $0, seenAt: .max - $0) }
        let bytes = RecentFramesCodec.encode(recent)
        #expect(try RecentFramesCodec.decode(bytes) == recent)
        #expect(try RecentFramesCodec.decode(RecentFramesCodec.encode(RecentFrames())) == RecentFrames())
        #expect(RecentFramesCodec.encode(RecentFrames()).count == 12, "empty windows take a byte each")
        for cut in 0..<bytes.count {
            #expect(throws: StoreDataError.self) { try RecentFramesCodec.decode(Array(bytes.prefix(cut))) }
        }
        #expect(throws: StoreDataError.self) { try RecentFramesCodec.decode(bytes + [0]) }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let blob = (0..<Int.random(in: 0..<200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? RecentFramesCodec.decode(blob)
            _ = try? RecentFramesCodec.decode([1] + blob)
        }
    }

    /// Migration 12 from a database as version 11 left it: the frames its
    /// frame index found are found through the session rows.
    @Test func theMigrationRemembersTheFramesTheIndexFound() throws {
        let directory = try EarlierSchema.directory("frames")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/v11.sqlite"
        try EarlierSchema.database(at: path, version: 11) { old in
            let rows: [(Int64, Int64, String, Int64?, String?)] = [
                (1, 1, "a", 40, "a/40"), (2, 2, "a", 41, "a/41"),      // a: an old session, then
                (3, 1, "a", 2, "a/2"), (4, 3, "a", 3, nil),             // a new one from uplink 3 (4: a duplicate row)
                (5, 2, "b", 20, "b/20"), (6, 1, "b", 300, "b/300"),     // b: 20 is 280 behind, past the span
                (7, 1, "c", nil, "c/#-12"), (8, 1, "c", nil, "c/#99"),  // c: counterless
            ]
            for (id, state, device, fCnt, key) in rows {
                try old.run("INSERT INTO uplinks (id, received_ms, topic, message_hash, state, device, fcnt, frame_key) VALUES (?, 10000, 't', ?, ?, ?, ?, ?)",
                            [.integer(id), .integer(id), .integer(state), .text(device), fCnt.map { .integer($0) } ?? .null, key.map { .text($0) } ?? .null])
            }
            try old.run("INSERT INTO device_sessions (device, session_start_id, last_fcnt) VALUES ('a', 3, 2), ('b', 0, 300)")
            try old.run("INSERT INTO device_activity (device, uplinks, last_seen_ms) VALUES ('a', 4, 10000), ('z', 9, 7000)")
        }
        let store = try GatewayStore(path: path)
        // Activity moved into the session rows, a device without a session included.
        let activity = try store.deviceActivity()
        #expect(activity.count == 2 && activity["a"]?.uplinks == 4 && activity["z"]?.uplinks == 9 && activity["z"]?.lastSeen == 7_000)
        #expect(try store.connection.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'device_activity'") == 0)
        let ids = try commit(store, 7, at: 12_000)
        func decoded(_ index: Int, _ device: String, _ fCnt: UInt32?, fingerprint: Int64? = nil) -> ProcessedUplink {
            ProcessedUplink(uplinkID: ids[index], outcome: .decoded(FrameFacts(envelope: "e", device: device, fCnt: fCnt, fPort: 1, networkTime: nil,
                                                                               payloadFingerprint: fingerprint), []))
        }
        let summary = try store.record([
            decoded(0, "a", 2),                                          // a copy
            decoded(1, "a", 40),                                         // of the old session: new
            ProcessedUplink(uplinkID: ids[2], outcome: bad("b", 20)),    // quarantined 20 is past the span: new
            decoded(3, "b", 300),                                        // a copy
            decoded(4, "c", nil, fingerprint: 99),                       // a copy (10 s window)
            decoded(5, "c", nil, fingerprint: -12),                      // a copy
            decoded(6, "c", nil, fingerprint: 5),                        // new
        ], now: 12_000)
        #expect(summary.duplicateFrames == [ids[0], ids[3], ids[4], ids[5]])
        #expect(summary.quarantined == 1)
        #expect(try store.deviceActivity()["a"]?.uplinks == 6 && store.deviceActivity()["a"]?.lastSeen == 12_000)
    }
}
