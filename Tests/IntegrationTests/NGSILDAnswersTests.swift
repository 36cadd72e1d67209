import Foundation
import Hubs
import Readings
import Testing

/// The NGSI-LD output against the fake broker's documented answers:
/// 201/204/207/400, 429 with Retry-After, 503, 504, no answer at all.
@Suite(.serialized) struct NGSILDAnswersTests {
    static func batch(_ sources: [String], window start: Int64) -> [OutboundAggregate] {
        sources.enumerated().map { index, source in
            let window = Window(start: start, length: 900_000)
            return OutboundAggregate(aggregateID: Int64(index + 1), revision: 1, windowKey: "\(source)/pm2_5/\(start)/PT15M", source: source,
                                     kind: .airQuality, metric: .pm2_5, channel: nil, window: window,
                                     statistics: WindowStatistics(count: 3, min: 10, max: 30, mean: 20 + Int64(index), last: 30, lastTime: window.end - 1))
        }
    }

    static func isRetry(_ result: DeliveryResult, after seconds: Int? = nil) -> Bool {
        if case let .retry(_, after) = result { return seconds == nil || after == seconds }
        return false
    }

    @Test func everyDocumentedAnswerMapsToWhatTheLedgerDoes() async throws {
        let directory = try TestEnvironment.temporaryDirectory("ngsi-answers")
        let fake = try await NGSILDFake(directory: directory)
        let hub = NGSILDHub(name: "broker", baseURL: fake.baseURL, gatewayID: "madrid", client: HTTPClient(timeoutSeconds: 5))
        let start = RFC3339.parseMillis("2026-11-20T10:00:00Z")!
        let batch = Self.batch(["aq-1", "aq-2", "aq-3"], window: start)

        // Transient answers: retry, honouring Retry-After; nothing stored.
        try await fake.script([["status": 503, "retryAfter": 1], ["status": 429, "retryAfter": 7], ["status": 504]])
        #expect(await hub.deliver(batch).allSatisfy { Self.isRetry($0, after: 1) })
        #expect(await hub.deliver(batch).allSatisfy { Self.isRetry($0, after: 7) })
        #expect(await hub.deliver(batch).allSatisfy { Self.isRetry($0) }, "504: the broker could not fetch the @context")
        #expect(try await fake.entities.isEmpty)

        // 400: the request as a whole is refused: dead-letter with the broker's answer.
        try await fake.script([["status": 400]])
        let refused = await hub.deliver(batch)
        for result in refused {
            guard case let .rejected(reason) = result else { Issue.record("400 must dead-letter: \(result)"); continue }
            #expect(reason.contains("BadRequestData"), "the hub's answer is kept: \(reason)")
        }

        // 201 with the ids created, then 204 when they all existed.
        #expect(await hub.deliver(batch) == batch.map { .delivered(ref: "urn:ngsi-ld:AirQualityObserved:madrid:\($0.source)") })
        let next = Self.batch(["aq-1", "aq-2", "aq-3"], window: start + 900_000)
        #expect(await hub.deliver(next).allSatisfy { if case .delivered = $0 { true } else { false } })
        #expect(try await fake.received()["answers"] as? [Int] == [503, 429, 504, 400, 201, 204])

        // 207: the broker failed one entity (500): only that one is retried;
        // it refused another (400): dead-lettered; the rest delivered.
        let third = Self.batch(["aq-1", "aq-2", "aq-3"], window: start + 1_800_000)
        try await fake.script([["status": 207, "fail": "aq-2", "failStatus": 500]])
        let partial = await hub.deliver(third)
        #expect(partial[0] == .delivered(ref: "urn:ngsi-ld:AirQualityObserved:madrid:aq-1"))
        #expect(Self.isRetry(partial[1]))
        #expect(partial[2] == .delivered(ref: "urn:ngsi-ld:AirQualityObserved:madrid:aq-3"))
        #expect(await hub.deliver([third[1]]) == [.delivered(ref: "urn:ngsi-ld:AirQualityObserved:madrid:aq-2")])
        try await fake.rejectIDs(containing: "aq-3")
        let fourth = Self.batch(["aq-1", "aq-3"], window: start + 2_700_000)
        let mixed = await hub.deliver(fourth)
        #expect(mixed[0] == .delivered(ref: "urn:ngsi-ld:AirQualityObserved:madrid:aq-1"))
        guard case .rejected = mixed[1] else { Issue.record("a refused entity is dead-lettered: \(mixed[1])"); return }
        try await fake.rejectIDs(containing: "")

        // The history holds each window once per entity: retries re-sent only what failed.
        let history = try await fake.received()["history"] as? [String: [[Any]]] ?? [:]
        for source in ["aq-1", "aq-2", "aq-3"] {
            let times = (history["urn:ngsi-ld:AirQualityObserved:madrid:\(source)|pm25|"] ?? []).compactMap { $0[0] as? String }
            #expect(times.count == Set(times).count, "\(source) history has a window twice: \(times)")
        }

        // Reconciliation reads the entity back: held windows are found, newer ones are not.
        let check = await hub.reconcile([third[0], Self.batch(["aq-1"], window: start + 3_600_000)[0], Self.batch(["aq-9"], window: start)[0]])
        #expect(check[0] == .delivered(ref: "urn:ngsi-ld:AirQualityObserved:madrid:aq-1"))
        #expect(check[1] == nil && check[2] == nil)

        // No answer at all (nothing listens): the batch may or may not have arrived.
        fake.process.forceStop()
        _ = await fake.process.waitForExit(timeout: .seconds(5))
        let silent = await hub.deliver(batch)
        #expect(silent.allSatisfy { if case .unknown = $0 { true } else { false } }, "\(silent)")
    }
}
