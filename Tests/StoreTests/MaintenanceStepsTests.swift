import Foundation
import Readings
import Testing
@testable import Store

/// Maintenance commands work in bounded steps (issue 15, item 1): a running
/// daemon's intake must never wait for a whole quarantine or dead-letter
/// queue to be moved, or its commit times out (SQLITE_BUSY) and the burst
/// goes unacknowledged.
@Suite struct MaintenanceStepsTests {
    /// A store with `count` quarantined uplinks, each from its own topic (no
    /// device), so none is a flood's counted copy; with `devices`, device
    /// `d<i % devices>`, one hour apart (a device's flood window).
    func quarantine(_ count: Int, devices: Int? = nil) throws -> (GatewayStore, String) {
        let directory = NSTemporaryDirectory() + "citygate-steps-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try GatewayStore(path: directory + "/s.sqlite")
        let ids = try store.commitUplinks((0..<count).map { ArrivedMessage(topic: "t/\($0)", message: Array("uplink \($0)".utf8), receivedAt: 1) })
            .compactMap { result -> Int64? in if case let .stored(id) = result { id } else { nil } }
        if let devices {
            for (index, id) in ids.enumerated() {
                _ = try store.record([ProcessedUplink(uplinkID: id, outcome: .quarantined(device: "d\(index % devices)", facts: nil, reason: .unknownDevice,
                                                                                        detail: "unknown"))], now: Int64(index) * 3_600_001)
            }
        } else {
            _ = try store.record(ids.map {
                ProcessedUplink(uplinkID: $0, outcome: .quarantined(device: nil, facts: nil, reason: .unknownDevice, detail: "unknown"))
            }, now: 2)
        }
        return (store, directory)
    }

    @Test func requeueMovesEveryRowInStepsThatHoldTheWriterBriefly() throws {
        let count = 20_000
        let (whole, first) = try quarantine(count)
        let (stepped, second) = try quarantine(count)
        defer { for directory in [first, second] { try? FileManager.default.removeItem(atPath: directory) } }

        _ = (whole.takeLongestWriterHold(), stepped.takeLongestWriterHold())  // not the set-up's
        // One step as large as the quarantine: the writer is held for all of it.
        #expect(try whole.requeueQuarantined(reason: nil, device: nil, step: count + 1) == count)
        #expect(try stepped.requeueQuarantined(reason: .unknownDevice, device: nil, step: 200) == count)
        let (wholeHold, steppedHold) = (whole.takeLongestWriterHold(), stepped.takeLongestWriterHold())
        #expect(try stepped.pendingUplinks(limit: count + 1).count == count)
        #expect(try stepped.quarantineRows(limit: 10).isEmpty)
        // A proportion, not a time: a hundred steps hold it far shorter than one
        // (the margin absorbs a step preempted on a busy machine).
        #expect(steppedHold / wholeHold < 0.5, "longest hold in steps of 200: \(steppedHold), in one: \(wholeHold)")
    }

    @Test func requeueByDeviceTakesOnlyThatDevice() throws {
        let (store, directory) = try quarantine(700, devices: 7)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try store.requeueQuarantined(reason: nil, device: "d3", step: 25) == 100)
        #expect(try store.quarantineRows(limit: 1000).count == 600)
    }

    /// A retention pass that finds little to prune costs about the same on a
    /// large store as on a small one: its scans stop at the last old row, and
    /// finding that row reads the id range from the b-tree's edges (one query
    /// asking `min(id), max(id)` scanned every row: 182 ms at a million).
    @Test func aPruningPassDoesNotScanTheWholeStore() throws {
        func store(_ count: Int) throws -> (GatewayStore, String) {
            let directory = NSTemporaryDirectory() + "citygate-pass-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let store = try GatewayStore(path: directory + "/p.sqlite")
            var made = 0
            while made < count {
                let batch = min(10_000, count - made)
                _ = try store.commitUplinks((made..<made + batch).map {
                    ArrivedMessage(topic: "t", message: Array("u\($0)".utf8), receivedAt: 1_000_000_000 + Int64($0))
                })
                made += batch
            }
            return (store, directory)
        }
        func passTime(_ store: GatewayStore) throws -> Duration {
            let start = ContinuousClock.now
            for _ in 0..<20 { _ = try store.prune(now: 1_000_000_000 + 86_400_000, bounds: StoreBounds(), aggressive: false) }
            return ContinuousClock.now - start
        }
        let (small, first) = try store(2_000)
        let (large, second) = try store(200_000)
        defer { for directory in [first, second] { try? FileManager.default.removeItem(atPath: directory) } }
        _ = try (passTime(small), passTime(large))  // warm
        let ratio = try passTime(large) / passTime(small)
        #expect(ratio < 10, "100 times the rows: a pass costs \(ratio) times as much")
    }
}
