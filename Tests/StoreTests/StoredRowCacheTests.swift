import Foundation
import Readings
import Testing
@testable import Store

/// `StoredRowCache` keeps copies of session rows (with their open windows) so a batch
/// need not read them again. A copy that differs from its row would make
/// deduplication drop or double an uplink without a sound, so: a store with
/// copies must record exactly what a store without them records, through
/// every path that changes those rows, and a copy must never outlive a
/// rollback or a commit by another connection.
@Suite struct StoredRowCacheTests {
    static let window: Int64 = 60_000

    struct Rollback: Error {}

    /// A frame of `device` with counter `fCnt` (nil: counterless, known by `fingerprint`).
    static func facts(_ device: DeviceID, _ fCnt: UInt32?, fingerprint: Int64? = nil) -> FrameFacts {
        FrameFacts(envelope: "chirpstack", device: device, fCnt: fCnt, fPort: 1, networkTime: nil, payloadFingerprint: fingerprint)
    }

    static func commit(_ store: GatewayStore, _ messages: [String], at time: EpochMillis) throws -> [Int64] {
        try store.commitUplinks(messages.map { ArrivedMessage(topic: "t", message: Array($0.utf8), receivedAt: time) })
            .compactMap { result -> Int64? in if case let .stored(id) = result { id } else { nil } }
    }

    static func decoded(_ id: Int64, _ device: DeviceID, _ fCnt: UInt32, value: Int64 = 1, windowStart: EpochMillis = 0) -> ProcessedUplink {
        let reading = Reading(uplinkID: id, device: device, metric: .temperature, channel: nil, time: windowStart, value: value)
        return ProcessedUplink(uplinkID: id, outcome: .decoded(facts(device, fCnt), [ReadingRow(reading: reading, windowLength: window, windowStart: windowStart)]))
    }

    /// Every session row (with its open windows) and aggregate, as stored, in key order.
    static func rows(_ store: GatewayStore) throws -> [[SQLiteValue]] {
        try store.locked {
            try store.connection.query("""
                SELECT device, session_start_id, last_fcnt, recent_frames, uplinks, last_seen_ms, open_windows, open_until_ms
                FROM device_sessions ORDER BY device
                """)
                + store.connection.query("SELECT window_key, count, min, max, sum_high, sum_low, last, revision FROM aggregates ORDER BY window_key")
        }
    }

    /// The reading counts of each series of the device's open windows, as its row holds them.
    static func counts(of device: DeviceID, on store: GatewayStore) throws -> [Int64] {
        try DeviceSessionBatch.storedRow(device, on: store.connection)?.windows.windows.flatMap { $0.series.compactMap(\.accumulator?.count) } ?? []
    }

    /// A seeded random run of 400 steps, recorded into a store with copies
    /// and into one without (capacity 0): frames of six devices whose
    /// counters repeat, jump and go back; counterless frames known by
    /// fingerprint; joins; frames quarantined, requeued and decoded;
    /// readings in the current window and the one before (some too late);
    /// windows closed (which evicts copies) and data pruned; now and
    /// then a batch rolled back. Every summary is the same in both, after
    /// every step each copy is its row, and the two databases end alike.
    @Test func aStoreWithCopiesRecordsWhatAStoreWithoutThemRecords() throws {
        let policy = DeduplicationPolicy(frameWindowMillis: 600_000)
        let (cached, cachedDirectory) = try GatewayStoreTests.temporaryStore(deduplication: policy)
        let (plain, plainDirectory) = try GatewayStoreTests.temporaryStore(deduplication: policy)
        defer {
            try? FileManager.default.removeItem(atPath: cachedDirectory)
            try? FileManager.default.removeItem(atPath: plainDirectory)
        }
        plain.rowCache.capacity = 0
        let bounds = StoreBounds(revisableMillis: 20_000)
        try cached.apply(bounds)
        try plain.apply(bounds)

        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next(_ bound: UInt64) -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (state >> 33) % bound
        }
        var now: EpochMillis = 1_000
        var message = 0
        var rolledBack = 0
        for step in 0..<400 {
            now += Int64(next(4_000))
            let devices = (0...next(10)).map { _ in "d\(next(6))" }
            let names = devices.map { _ in message += 1; return "m\(message)" }
            let ids = try Self.commit(cached, names, at: now)
            #expect(try Self.commit(plain, names, at: now) == ids)
            let currentWindow = now - now % Self.window
            let batch = zip(ids, devices).map { id, device -> ProcessedUplink in
                let fCnt = UInt32(next(48))
                let windowStart = next(4) == 0 ? currentWindow - Self.window : currentWindow
                switch next(12) {
                case 0:
                    return ProcessedUplink(uplinkID: id, outcome: .quarantined(device: device, facts: Self.facts(device, fCnt), reason: .implausible, detail: "x"))
                case 1:
                    return ProcessedUplink(uplinkID: id, outcome: .event(type: "join", device: device, readings: []))
                case 2:
                    return ProcessedUplink(uplinkID: id, outcome: .decoded(Self.facts(device, nil, fingerprint: Int64(next(4))), []))
                case 3:
                    return ProcessedUplink(uplinkID: id, outcome: .ignored(Self.facts(device, fCnt), reason: "port"))
                default:
                    return Self.decoded(id, device, fCnt, value: Int64(next(1_000)) - 500, windowStart: windowStart)
                }
            }
            if next(25) == 0 {
                for store in [cached, plain] {
                    #expect(throws: Rollback.self) {
                        try store.transaction { () throws -> Void in
                            _ = try store.recordInTransaction(batch, now: now)
                            throw Rollback()
                        }
                    }
                }
                rolledBack += 1
            }
            #expect(try cached.record(batch, now: now) == plain.record(batch, now: now), "step \(step)")
            if next(8) == 0 {
                #expect(try WindowAccumulatorTests.closeAll(cached, now: now) == WindowAccumulatorTests.closeAll(plain, now: now), "step \(step)")
                #expect(try cached.prune(now: now, bounds: bounds, aggressive: false) == plain.prune(now: now, bounds: bounds, aggressive: false))
            }
            if next(15) == 0 {
                #expect(try cached.requeueQuarantined(reason: nil, device: nil) == plain.requeueQuarantined(reason: nil, device: nil))
            }
            let check = try cached.checkRowCache()
            #expect(check.mismatches.isEmpty, "step \(step): \(check.mismatches.prefix(3))")
        }
        #expect(try Self.rows(cached) == Self.rows(plain))
        let check = try cached.checkRowCache()
        #expect(check.copies > 0 && check.hits > 500, "copies \(check.copies), hits \(check.hits), misses \(check.misses)")
        // The six devices' first rows were not looked for.
        #expect(check.readsSpared >= 6, "\(check.readsSpared) reads spared")
        #expect(try plain.checkRowCache().hits == 0)
        #expect(rolledBack > 5)
    }

    /// A seeded random run of QoS 1 messages over five connections, with
    /// few packet identifiers and few distinct messages (so identifiers are
    /// reused within a connection and across them, and the same bytes come
    /// under another identifier), redeliveries of earlier connections'
    /// messages, bursts that span a reconnect, rolled-back bursts, and a
    /// second connection to the file committing now and then: a store that
    /// skips the lookup for identifiers no earlier connection used gives
    /// every message the result a store that looks each one up gives.
    @Test func redeliveryLookupsAreSkippedOnlyWhereNoRedeliveryCanBe() throws {
        let (skipping, skippingDirectory) = try GatewayStoreTests.temporaryStore()
        let (plain, plainDirectory) = try GatewayStoreTests.temporaryStore()
        defer {
            try? FileManager.default.removeItem(atPath: skippingDirectory)
            try? FileManager.default.removeItem(atPath: plainDirectory)
        }
        plain.rowCache.capacity = 0
        let others = [try GatewayStore(path: skipping.path), try GatewayStore(path: plain.path)]
        var state: UInt64 = 0x5851_F42D_4C95_7F2D
        func next(_ bound: UInt64) -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (state >> 33) % bound
        }
        var sent: [(message: String, packetID: Int)] = []
        var connectedAt: EpochMillis = 1_000, now: EpochMillis = 1_000
        var duplicates = 0
        for step in 0..<600 {
            now += 1
            if next(120) == 0 { now += 1; connectedAt = now }  // a reconnect, after the last message came
            var burst: [ArrivedMessage] = []
            for _ in 0...next(6) {
                if next(5) == 0, let earlier = sent.isEmpty ? nil : sent[sent.count - 1 - Int(next(UInt64(min(sent.count, 8))))] {
                    // The broker resends an unacknowledged message (a recent one): same bytes, same identifier.
                    burst.append(ArrivedMessage(topic: "t", message: Array(earlier.message.utf8), receivedAt: now,
                                                delivery: BrokerDelivery(packetID: earlier.packetID, connectedAt: connectedAt)))
                } else {
                    let message = "m\(next(10))", packetID = Int(next(12)) + 1
                    sent.append((message, packetID))
                    burst.append(ArrivedMessage(topic: "t", message: Array(message.utf8), receivedAt: now,
                                                delivery: BrokerDelivery(packetID: packetID, connectedAt: connectedAt)))
                }
                if next(40) == 0 { now += 1; connectedAt = now }  // a reconnect inside the burst
            }
            if next(30) == 0 {
                for store in [skipping, plain] {
                    #expect(throws: Rollback.self) {
                        try store.transaction { () throws -> Void in
                            var rows = UplinkRows()
                            for message in burst { _ = try store.insertUplink(message, into: &rows) }
                            try rows.flush(on: store.connection)
                            throw Rollback()
                        }
                    }
                }
            }
            let results = try skipping.commitUplinks(burst)
            #expect(try plain.commitUplinks(burst) == results, "step \(step)")
            duplicates += results.filter { if case .duplicate = $0 { true } else { false } }.count
            if next(50) == 0 {
                // Another connection to the same file (another process) commits a message
                // from before this MQTT connection: the broker may send it again.
                let text = "o\(step)", packetID = Int(next(12)) + 1
                let message = ArrivedMessage(topic: "t", message: Array(text.utf8), receivedAt: connectedAt - 1,
                                             delivery: BrokerDelivery(packetID: packetID, connectedAt: connectedAt - 2))
                #expect(try others[0].commitUplinks([message]) == others[1].commitUplinks([message]))
                sent.append((text, packetID))
            }
            let check = try skipping.checkRowCache()
            #expect(check.mismatches.isEmpty, "step \(step): \(check.mismatches.prefix(3))")
        }
        #expect(duplicates > 20, "redeliveries found: \(duplicates)")
        #expect(skipping.rowCache.lookupsSkipped > 200 && plain.rowCache.lookupsSkipped == 0, "skipped \(skipping.rowCache.lookupsSkipped)")
    }

    /// A batch that rolls back (here by an error inside its transaction; a
    /// full disk at COMMIT does the same) leaves no copy: the frame it would
    /// have kept is still new.
    @Test func aRolledBackBatchLeavesNoCopy() throws {
        let (store, directory) = try GatewayStoreTests.temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ids = try Self.commit(store, ["a", "b"], at: 1_000)
        _ = try store.record([Self.decoded(ids[0], "d1", 1)], now: 1_000)
        #expect(throws: Rollback.self) {
            try store.transaction { () throws -> Void in
                _ = try store.recordInTransaction([Self.decoded(ids[1], "d1", 2)], now: 1_000)
                throw Rollback()
            }
        }
        #expect(try store.checkRowCache().mismatches.isEmpty)
        #expect(try store.record([Self.decoded(ids[1], "d1", 2)], now: 1_000).duplicateFrames.isEmpty, "the rolled-back frame was never kept")
        #expect(try store.checkRowCache().hits > 0)
    }

    /// Another connection (a second process on the same file) keeps a frame:
    /// the store's copy of that device's session goes, and a copy of the frame
    /// is found from the row.
    @Test func aCommitByAnotherConnectionDropsTheCopies() throws {
        let (store, directory) = try GatewayStoreTests.temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let other = try GatewayStore(path: store.path)
        func keep(_ on: GatewayStore, _ name: String, _ fCnt: UInt32) throws -> RecordSummary {
            let id = try Self.commit(on, [name], at: 1_000)[0]
            return try on.record([Self.decoded(id, "d1", fCnt)], now: 1_000)
        }
        #expect(try keep(store, "a", 5).duplicateFrames.isEmpty)
        #expect(try keep(store, "b", 6).duplicateFrames.isEmpty)
        #expect(try store.checkRowCache().hits > 0, "the second frame found the session's copy")
        #expect(try keep(other, "c", 7).duplicateFrames.isEmpty)
        #expect(try keep(store, "d", 7).duplicateFrames.count == 1, "a copy of the frame the other connection kept")
        #expect(try store.checkRowCache().mismatches.isEmpty)
    }

    /// Rows another connection inserts (another process, `citygate requeue`)
    /// for a device and a window the store had not seen are found: the
    /// store's knowledge of which rows exist goes with its copies.
    @Test func rowsAnotherConnectionInsertedAreFound() throws {
        let (store, directory) = try GatewayStoreTests.temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let other = try GatewayStore(path: store.path)
        func keep(_ on: GatewayStore, _ name: String, _ device: DeviceID, _ fCnt: UInt32) throws -> RecordSummary {
            let id = try Self.commit(on, [name], at: 1_000)[0]
            return try on.record([Self.decoded(id, device, fCnt, value: 10, windowStart: 60_000)], now: 1_000)
        }
        #expect(try keep(store, "a", "d1", 1).duplicateFrames.isEmpty)
        #expect(try store.checkRowCache().readsSpared == 1, "the first batch did not look for d1's row")
        #expect(try keep(other, "b", "d2", 1).duplicateFrames.isEmpty)
        #expect(try keep(store, "c", "d2", 1).duplicateFrames.count == 1, "the frame the other connection kept for d2")
        #expect(try keep(store, "d", "d2", 2).duplicateFrames.isEmpty)
        let check = try store.checkRowCache()
        #expect(check.mismatches.isEmpty, "\(check.mismatches)")
        let taken = try store.locked { try ["d1", "d2"].map { try Self.counts(of: $0, on: store) } }
        #expect(taken == [[1], [2]], "d2's window has both readings: \(taken)")
    }

    /// After a restart the store knows nothing of rows written before it:
    /// it reads which there are, and finds the device's open window.
    @Test func rowsWrittenBeforeARestartAreFound() throws {
        let (store, directory) = try GatewayStoreTests.temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try Self.commit(store, ["a"], at: 1_000)[0]
        _ = try store.record([Self.decoded(first, "d1", 1, windowStart: 60_000)], now: 1_000)
        let reopened = try GatewayStore(path: store.path)
        let second = try Self.commit(reopened, ["b"], at: 2_000)[0]
        #expect(try reopened.record([Self.decoded(second, "d1", 1, windowStart: 60_000)], now: 2_000).duplicateFrames.count == 1)
        let third = try Self.commit(reopened, ["c"], at: 2_000)[0]
        #expect(try reopened.record([Self.decoded(third, "d1", 2, windowStart: 60_000)], now: 2_000).duplicateFrames.isEmpty)
        #expect(try reopened.locked { try Self.counts(of: "d1", on: reopened) } == [2])
        #expect(try reopened.checkRowCache().mismatches.isEmpty)
    }

    /// A fleet larger than the capacity seldom finds a copy: copying stops
    /// (the copies go) and starts again after the pause; a small fleet keeps
    /// it. Deduplication finds every copy of a frame throughout.
    @Test func copyingStopsWhereCopiesAreSeldomFound() throws {
        let (store, directory) = try GatewayStoreTests.temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        store.rowCache.capacity = 8
        store.rowCache.policy = CopyingPolicy(round: 40, pause: 2)
        var message = 0
        func send(_ devices: [DeviceID], fCnt: UInt32) throws -> RecordSummary {
            let ids = try Self.commit(store, devices.map { _ in message += 1; return "m\(message)" }, at: 1_000)
            return try store.record(zip(ids, devices).map { Self.decoded($0, $1, fCnt) }, now: 1_000)
        }
        var modes: [Bool] = []
        for round in 0..<12 {
            for chunk in stride(from: 0, to: 20, by: 5) {
                let devices = (chunk..<chunk + 5).map { "d\($0)" }
                #expect(try send(devices, fCnt: UInt32(round)).duplicateFrames.isEmpty)
                // One lookup in eleven finds a copy: fewer than one in eight.
                if chunk % 10 == 0 {
                    #expect(try send([devices[0]], fCnt: UInt32(round)).duplicateFrames.count == 1, "the frame again is a copy")
                }
                modes.append(store.rowCache.isCopying)
                let check = try store.checkRowCache()
                #expect(check.mismatches.isEmpty, "\(check.mismatches.prefix(3))")
                if !store.rowCache.isCopying { #expect(check.copies == 0) }
            }
        }
        #expect(modes.contains(false), "copying stopped: \(modes)")
        #expect(modes.drop(while: { $0 }).contains(true), "and started again: \(modes)")
        // Three devices: nearly every lookup finds a copy, so copying goes on.
        for fCnt in 100..<140 {
            #expect(try send(["d0", "d1", "d2"], fCnt: UInt32(fCnt)).duplicateFrames.isEmpty)
        }
        let settled = (0..<20).map { fCnt -> Bool in
            _ = try? send(["d0", "d1", "d2"], fCnt: UInt32(200 + fCnt))
            return store.rowCache.isCopying
        }
        #expect(settled.allSatisfy { $0 }, "\(settled)")
    }

    /// Copies never pass the capacity: a fleet larger than it is read from
    /// its rows, and what is kept is still exact.
    @Test func copiesStayWithinTheCapacity() throws {
        let (store, directory) = try GatewayStoreTests.temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        store.rowCache.capacity = 8
        for round in 0..<3 {
            let devices = (0..<20).map { "d\($0)" }
            let ids = try Self.commit(store, devices.map { "\($0)-\(round)" }, at: 1_000)
            for chunk in stride(from: 0, to: devices.count, by: 5) {
                let batch = (chunk..<chunk + 5).map { Self.decoded(ids[$0], devices[$0], UInt32(round)) }
                #expect(try store.record(batch, now: 1_000).duplicateFrames.isEmpty)
                let check = try store.checkRowCache()
                #expect(store.rowCache.copies.count <= 8 && check.copies > 0 && check.mismatches.isEmpty)
            }
        }
    }
}
