import Foundation
import Readings
import Testing
@testable import Store

/// Pruning under pressure keeps the readings of windows that may still be
/// revised (end + grace + lateness in the future). It pruned them up to `now`;
/// a late reading then re-opened the window and the revision, computed from
/// what was left, overwrote the hub's right value under the same id.
@Suite struct RevisableWindowTests {
    @Test func aggressivePruningKeepsTheReadingsOfARevisableWindow() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("citygate-revisable-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try GatewayStore(path: directory + "/r.sqlite")
        let window: Int64 = 900_000
        // Three readings of one window [0, 15 min), aggregated and delivered.
        for (index, value) in [100, 200, 300].enumerated() {
            guard case let .stored(id) = try store.commitUplink(topic: "t", message: [UInt8(index)], receivedAt: Int64(index)) else { return }
            let facts = FrameFacts(envelope: "chirpstack", device: "d", fCnt: UInt32(index + 1), fPort: 1, networkTime: nil)
            let reading = Reading(uplinkID: id, device: "d", metric: .temperature, channel: nil, time: Int64(index) * 60_000, value: Int64(value))
            _ = try store.record([ProcessedUplink(uplinkID: id, outcome: .decoded(facts, [ReadingRow(reading: reading, windowLength: window, windowStart: 0)]))],
                                 now: Int64(index))
        }
        let closable = try store.closableWindows(graceMillis: 0, now: window)
        #expect(closable.first?.accumulator.statistics == WindowStatistics(count: 3, min: 100, max: 300, mean: 200, last: 300, lastTime: 120_000))
        try store.saveAggregates([AggregateRecord(windowKey: "k", group: closable[0].group, kind: .generic,
                                                  statistics: closable[0].accumulator.statistics)], hubs: ["hub"], now: window)
        let pending = try store.pendingDeliveries(hub: "hub", limit: 10)
        try store.markDelivered(hub: "hub", pending.map { ($0.aggregateID, $0.revision, nil) }, now: window)

        // Under pressure, 10 minutes after the window's end, with an hour of lateness: nothing of it goes.
        let bounds = StoreBounds(revisableMillis: 60_000 + 3_600_000)
        let now = window + 600_000
        #expect(try store.prune(now: now, bounds: bounds, aggressive: true).readingsDeleted == 0)
        #expect(try store.statistics().readingsStored == 3)
        // Past grace and lateness the window can no longer change: its readings may go.
        #expect(try store.prune(now: window + 60_000 + 3_600_000, bounds: bounds, aggressive: true).readingsDeleted == 3)
    }
}
