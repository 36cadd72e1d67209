import Foundation
@testable import Gateway
import Hubs
import Logging
import Readings
@testable import Store
import Testing

/// A hub's answer is kept to 1 KiB per batch in the ledger and the log: an
/// error body of up to 16 MiB was written into `last_error` of every
/// aggregate of the batch (up to 500 copies).
@Suite struct DeliveryAnswerTests {
    /// A hub that answers every aggregate with the same long text.
    struct LongAnswerHub: Hub {
        let name = "h"
        let isPrivate = false
        let answer: @Sendable (String) -> DeliveryResult
        func deliver(_ batch: [OutboundAggregate]) async -> [DeliveryResult] {
            let text = String(repeating: "é", count: 1 << 20)  // 2 MiB of UTF-8
            return batch.map { _ in answer(text) }
        }
    }

    func ledger(after answer: @escaping @Sendable (String) -> DeliveryResult) async throws -> (lengths: [Int64], first: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("citygate-answers-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try GatewayStore(path: directory + "/citygate.sqlite")
        let records = (0..<200).map { index in
            AggregateRecord(windowKey: "d\(index)/w", group: WindowGroup(device: "d\(index)", metric: .temperature, channel: nil, windowLength: 60_000, windowStart: 0),
                            kind: .generic, statistics: WindowStatistics(count: 1, min: 2_000, max: 2_000, mean: 2_000, last: 2_000, lastTime: 1))
        }
        try store.saveAggregates(records, hubs: ["h"], now: 1)
        let context = ServiceContext(store: store, settings: LiveSettings(try ProcessingServiceTests.config(devices: [])), metrics: GatewayMetrics(),
                                     logger: Logger(label: "test"))
        let delivery = DeliveryService(hub: LongAnswerHub(answer: answer), settings: HubSettings(name: "h", url: "http://hub.invalid"),
                                       context: context, wake: WakeSignal())
        _ = await delivery.deliverBatch()
        let lengths = try store.connection.query("SELECT length(CAST(last_error AS BLOB)) FROM deliveries ORDER BY aggregate_id").compactMap { $0[0].int }
        let first = try store.connection.query("SELECT last_error FROM deliveries ORDER BY aggregate_id LIMIT 1").first?[0].string ?? ""
        return (lengths, first)
    }

    @Test(arguments: ["rejected", "retry", "unknown"])
    func aHugeAnswerIsKeptOncePerBatchAndCut(kind: String) async throws {
        let (lengths, first) = try await ledger { text in
            switch kind {
            case "rejected": return .rejected(reason: text)
            case "retry": return .retry(reason: text, afterSeconds: nil)
            default: return .unknown(reason: text)
            }
        }
        #expect(lengths.count == 200)
        #expect(lengths.max() ?? 0 <= 1_100, "\(kind): the longest answer kept is \(lengths.max() ?? 0) bytes")
        // The whole (cut) answer once; the others a reference and a 160-byte excerpt.
        #expect(lengths.reduce(0, +) <= 1_100 + 199 * 240, "\(kind): \(lengths.reduce(0, +)) bytes of answers for one batch")
        #expect(first.hasPrefix("éé") && first.hasSuffix("more bytes)"), "\(kind): \(first.suffix(40))")
    }

    @Test func distinctAnswersAreEachKeptAndCut() {
        #expect(BoundedText.prefix("short", maxBytes: 1024) == "short")
        #expect(BoundedText.prefix("ab€cd", maxBytes: 4) == "ab… (5 more bytes)")  // € is 3 bytes: not split
    }
}
