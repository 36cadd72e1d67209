import Foundation
@testable import Hubs
import Readings
import Testing

@Suite struct FileHubTests {
    static func aggregate(day: String, revision: Int64 = 1) -> OutboundAggregate {
        let window = Window(start: RFC3339.parseMillis("\(day)T10:00:00Z")!, length: 3_600_000)
        return OutboundAggregate(aggregateID: 1, revision: revision, windowKey: "a/temperature/\(day)T10:00:00Z/PT1H", source: "a",
                                 kind: .damp, metric: .temperature, channel: nil, window: window,
                                 statistics: WindowStatistics(count: 2, min: 1_00, max: 3_00, mean: 2_00, last: 3_00, lastTime: window.end - 1))
    }

    @Test func reconcileFindsWhatWasWrittenBeforeACrash() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("citygate-filehub-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let hub = FileHub(directory: directory, retentionDays: 2)
        let written = Self.aggregate(day: "2026-11-20")
        #expect(await hub.deliver([written]) == [.delivered(ref: "aggregates-2026-11-20.ndjson")])
        let answers = await hub.reconcile([written, Self.aggregate(day: "2026-11-20", revision: 2), Self.aggregate(day: "2026-11-21")])
        #expect(answers[0] == .delivered(ref: "aggregates-2026-11-20.ndjson"))
        #expect(answers[1] == nil, "a later revision was not written yet")
        #expect(answers[2] == nil)
        let csv = try String(contentsOfFile: directory + "/aggregates-2026-11-20.csv", encoding: .utf8)
        #expect(csv.hasPrefix(FileHub.csvHeader) && csv.contains(",device,,,\n"))
    }

    @Test func dayFilesPastTheRetentionAreDeleted() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("citygate-filehub-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let hub = FileHub(directory: directory, retentionDays: 2)
        _ = await hub.deliver([Self.aggregate(day: "2026-11-17"), Self.aggregate(day: "2026-11-18"), Self.aggregate(day: "2026-11-19")])
        #expect(hub.dayFiles().count == 6 && hub.dayFiles().allSatisfy { $0.bytes > 0 })
        // On the 20th, two days' retention keeps the 18th and the 19th.
        #expect(hub.pruneOldFiles(now: RFC3339.parseMillis("2026-11-20T08:00:00Z")!) == 2)
        #expect(Set(hub.dayFiles().map(\.day)) == ["2026-11-18", "2026-11-19"])
        #expect(FileHub(directory: directory).pruneOldFiles(now: RFC3339.parseMillis("2030-01-01T00:00:00Z")!) == 0, "no retention: kept")
    }
}

@Suite struct HTTPResponseTests {
    @Test func retryAfterFromTheHubIsBounded() {
        func after(_ text: String) -> Int? { HTTPResponse(status: 503, headers: ["retry-after": text], body: []).retryAfterSeconds }
        #expect(after("7") == 7)
        #expect(after(" 120 ") == 120)
        #expect(after("99999999999999999") == 86_400, "would overflow the backoff's milliseconds")
        #expect(after("-3") == 0)
        #expect(after("Wed, 21 Oct 2026 07:28:00 GMT") == nil, "the date form is not taken")
        #expect(after("9223372036854775808") == nil, "not an Int at all")
    }
}
