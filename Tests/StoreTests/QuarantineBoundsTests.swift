import Foundation
import Readings
import Testing
@testable import Store

/// The quarantine is bounded (issue 15, item 6): it counts toward the size
/// bound, is pruned past `quarantine_retention` or under pressure, and a
/// flood from one source keeps samples and a count instead of every copy.
@Suite struct QuarantineBoundsTests {
    static func store() throws -> (GatewayStore, String) {
        let directory = NSTemporaryDirectory() + "citygate-qbounds-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return (try GatewayStore(path: directory + "/q.sqlite"), directory)
    }

    /// Commits `count` uplinks on `topic` at `time` and quarantines them for `device`.
    @discardableResult
    static func quarantine(_ store: GatewayStore, count: Int, topic: String, device: DeviceID?, at time: EpochMillis,
                           reason: QuarantineReason = .unknownDevice) throws -> [Int64] {
        let ids = try store.commitUplinks((0..<count).map { ArrivedMessage(topic: topic, message: Array("\(topic) \(time) \($0)".utf8), receivedAt: time) })
            .compactMap { result -> Int64? in if case let .stored(id) = result { id } else { nil } }
        _ = try store.record(ids.map { ProcessedUplink(uplinkID: $0, outcome: .quarantined(device: device, facts: nil, reason: reason, detail: "x")) },
                             now: time)
        return ids
    }

    func scalar(_ store: GatewayStore, _ sql: String) throws -> Int64 {
        try store.locked { try store.connection.scalar(sql) ?? -1 }
    }

    @Test func aFloodFromOneSourceKeepsSamplesAndACount() throws {
        let (store, directory) = try Self.store()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.quarantine(store, count: 500, topic: "application/a/device/0000000000000bad/event/up", device: "0000000000000bad", at: 1_000_000)
        try Self.quarantine(store, count: 30, topic: "junk/topic", device: nil, at: 1_000_000, reason: .noRoute)
        try Self.quarantine(store, count: 3, topic: "application/a/device/0000000000000bee/event/up", device: "0000000000000bee", at: 1_000_000)
        // Per source and reason: 20 samples with their bytes; the rest counted on the newest.
        #expect(try scalar(store, "SELECT count(*) FROM quarantine") == 20 + 20 + 3)
        #expect(try store.statistics().quarantined == 500 + 30 + 3)
        #expect(try scalar(store, "SELECT count(*) FROM uplink_messages") == 43)
        #expect(try scalar(store, "SELECT max(count) FROM quarantine WHERE source = '0000000000000bad'") == 481)
        // An hour later the source gets fresh samples.
        try Self.quarantine(store, count: 5, topic: "application/a/device/0000000000000bad/event/up", device: "0000000000000bad", at: 1_000_000 + 3_600_001)
        #expect(try scalar(store, "SELECT count(*) FROM quarantine WHERE source = '0000000000000bad'") == 25)
    }

    @Test func quarantinePastItsRetentionOrUnderPressureIsPruned() throws {
        let (store, directory) = try Self.store()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let day: Int64 = 86_400_000
        let old = try Self.quarantine(store, count: 5, topic: "t/old", device: nil, at: 1 * day)
        try Self.quarantine(store, count: 5, topic: "t/new", device: nil, at: 40 * day)
        let bounds = StoreBounds(quarantineRetentionMillis: 30 * day)
        let byRetention = try store.prune(now: 41 * day, bounds: bounds, aggressive: false)
        #expect(byRetention.quarantinedDeleted == 5)
        #expect(try scalar(store, "SELECT count(*) FROM quarantine") == 5)
        #expect(try scalar(store, "SELECT count(*) FROM uplink_messages WHERE uplink_id IN (\(old.map(String.init).joined(separator: ",")))") == 0)
        #expect(try store.statistics().quarantined == 5)
        // Under pressure the rest goes too, and the bare rows after it.
        var total = PruneSummary()
        for _ in 0..<5 {
            let pass = try store.prune(now: 41 * day, bounds: bounds, aggressive: true)
            total.quarantinedDeleted += pass.quarantinedDeleted
            total.uplinksDeleted += pass.uplinksDeleted
        }
        #expect(total.quarantinedDeleted == 5)
        #expect(try scalar(store, "SELECT count(*) FROM uplinks") == 0)
        #expect(try scalar(store, "SELECT value FROM counters WHERE name = 'pruned_quarantined'") == 10)
    }
}
