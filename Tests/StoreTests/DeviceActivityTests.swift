import Foundation
import Readings
import Testing
@testable import Store

/// Last-seen per device is kept as uplinks are recorded (issue 15, item 15):
/// the silent-device check reads one row per device instead of grouping
/// every uplink row under the writer, and a device whose old rows were
/// pruned is still known.
@Suite struct DeviceActivityTests {
    static func store(devices: Int, uplinksPerDevice: Int) throws -> (GatewayStore, String) {
        let directory = NSTemporaryDirectory() + "citygate-activity-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try GatewayStore(path: directory + "/a.sqlite")
        for round in 0..<uplinksPerDevice {
            try store.recordReports(of: (0..<devices).map { "d\($0)" }, at: EpochMillis(1_000 + round))
        }
        return (store, directory)
    }

    @Test func lastSeenSurvivesPruningAndCountsEveryUplink() throws {
        let (store, directory) = try Self.store(devices: 3, uplinksPerDevice: 4)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let before = try store.deviceActivity()
        #expect(before.count == 3 && before["d1"]?.uplinks == 4 && before["d1"]?.lastSeen == 1_003)
        // Every uplink row pruned (past retention and the duplicate window).
        for _ in 0..<5 { _ = try store.prune(now: 400 * 86_400_000, bounds: StoreBounds(), aggressive: true) }
        #expect(try store.locked { try store.connection.scalar("SELECT count(*) FROM uplinks") } == 0)
        #expect(try store.deviceActivity()["d1"]?.lastSeen == 1_003, "known after its rows are gone")
    }

    @Test func readingActivityDoesNotGrowWithTheUplinkRows() throws {
        let (few, first) = try Self.store(devices: 100, uplinksPerDevice: 5)
        let (many, second) = try Self.store(devices: 100, uplinksPerDevice: 500)
        defer { for directory in [first, second] { try? FileManager.default.removeItem(atPath: directory) } }
        func time(_ store: GatewayStore) throws -> Duration {
            _ = try store.deviceActivity()  // warm
            let start = ContinuousClock.now
            for _ in 0..<20 { _ = try store.deviceActivity() }
            return ContinuousClock.now - start
        }
        // A proportion, not a time: 100 times the rows, about the same cost
        // (grouping the rows took about 100 times as long). The fastest of five
        // interleaved rounds each, so a busy machine's pauses do not decide it.
        var fewTimes: [Duration] = [], manyTimes: [Duration] = []
        for _ in 0..<5 {
            manyTimes.append(try time(many))
            fewTimes.append(try time(few))
        }
        let ratio = manyTimes.min()! / fewTimes.min()!
        #expect(ratio < 5, "50,000 rows vs 500: \(ratio)")
    }
}
