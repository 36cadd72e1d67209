import FoundationEssentials
import Readings

/// New windows as Observations in one `CreateObservations` request, and what
/// each row's answer means.
///
/// FROST-Server answers 201 even when rows fail: one string per row, the new
/// Observation's self-link or a text starting with `error`
/// (../shared/reference/hub/real-hubs.md). So a 201 proves nothing per row:
/// only a self-link under the service root counts as delivered.
extension SensorThingsHub {
    /// One window as the server gets it: `phenomenonTime` the window as an
    /// interval (or its end, for servers that take only instants),
    /// `resultTime` the window end, `result` the mean, the rest in `parameters`.
    func observationParameters(_ a: OutboundAggregate) -> JSONText {
        .object([
            ("count", .integer(a.statistics.count)),
            ("min", a.decimal(a.statistics.min)),
            ("max", a.decimal(a.statistics.max)),
            ("mean", a.decimal(a.statistics.mean)),
            ("last", a.decimal(a.statistics.last)),
            ("lastTime", .string(RFC3339.format(a.statistics.lastTime))),
            ("revision", .integer(a.revision)),
            ("gatewayId", .string(gatewayID)),
            ("windowKey", .string(a.windowKey)),
            ("windowStart", .string(RFC3339.format(a.window.start))),
            ("windowEnd", .string(RFC3339.format(a.window.end))),
        ])
    }

    func phenomenonTime(_ a: OutboundAggregate) -> String {
        switch phenomenonTimeStyle {
        case .interval: return "\(RFC3339.format(a.window.start))/\(RFC3339.format(a.window.end))"
        case .instant: return RFC3339.format(a.window.end)
        }
    }

    /// What one row's answer says.
    enum RowAnswer {
        case delivered(String)
        /// The row named a FeatureOfInterest the server does not hold.
        case missingFeature(String)
        case refused(String)
        /// Something else: the server may hold the row.
        case unclear(String)
    }

    /// A row's answer, or what the whole request came to.
    enum PostAnswer {
        case row(RowAnswer)
        case whole(DeliveryResult)
    }

    func rowAnswer(_ answer: JSONAnswer) -> RowAnswer {
        guard let text = answer.string else { return .unclear("CreateObservations answered a non-string row") }
        if HubLinks.isUnder(serviceRoot, text) { return .delivered(text) }
        if text.hasPrefix("error") {
            let said = BoundedText.prefix(text, maxBytes: 500)
            return text.contains("FeatureOfInterest") ? .missingFeature(said) : .refused("CreateObservations: \(said)")
        }
        // Not a link the credentials may follow: the hub may hold the row,
        // so it is reconciled (by window key) before any resend.
        return .unclear("CreateObservations answered \(text.prefix(200)) for this row, not a link under \(serviceRoot)")
    }

    /// Sends the rows (aggregate, Datastream id); a row refused for a missing
    /// FeatureOfInterest gets its feature made again and is sent once more.
    func createObservations(_ rows: [(OutboundAggregate, String)]) async -> [DeliveryResult] {
        var results = [DeliveryResult](repeating: .retry(reason: "not sent", afterSeconds: nil), count: rows.count)
        var features: [String?] = []
        for (index, row) in rows.enumerated() {
            do {
                features.append(try await featureOfInterest(for: row.0))
            } catch let failure as Failure {
                results[index] = failure.result
                features.append(nil)
            } catch {
                results[index] = .retry(reason: "\(error)", afterSeconds: nil)
                features.append(nil)
            }
        }
        var sendable = rows.indices.filter { features[$0] != nil }
        for attempt in 1...2 where !sendable.isEmpty {
            let answers = await post(sendable.map { (rows[$0].0, rows[$0].1, features[$0]!) })
            var repair: [Int] = []
            for (index, answer) in zip(sendable, answers) {
                switch answer {
                case let .row(.delivered(link)): results[index] = .delivered(ref: link)
                case let .row(.refused(why)): results[index] = .refused(reason: why)
                case let .row(.unclear(why)): results[index] = .unknown(reason: why)
                case let .row(.missingFeature(why)):
                    results[index] = .refused(reason: "CreateObservations: \(why)")
                    if attempt == 1 { repair.append(index) }
                case let .whole(result): results[index] = result
                }
            }
            // The server lost the feature we remembered (a hub reset, a
            // cleanup): forget it, find or make it again, send those rows again.
            for index in repair {
                guard let key = featureKey(rows[index].0) else { continue }
                references.forget(hub: name, key: key)
            }
            sendable = []
            for index in repair {
                if let feature = try? await featureOfInterest(for: rows[index].0) {
                    features[index] = feature
                    sendable.append(index)
                }
            }
        }
        return results
    }

    /// One `CreateObservations` request; per row its answer, or the result
    /// the whole request came to.
    func post(_ rows: [(OutboundAggregate, String, String)]) async -> [PostAnswer] {
        // One dataArray entry per Datastream, rows in input order within it.
        var order: [String] = []
        var byStream: [String: [Int]] = [:]
        for (index, row) in rows.enumerated() {
            if byStream[row.1] == nil { order.append(row.1) }
            byStream[row.1, default: []].append(index)
        }
        var flatIndex: [Int] = []
        let body = JSONText.array(order.map { stream in
            let indices = byStream[stream]!
            flatIndex += indices
            return .object([
                ("Datastream", .object([("@iot.id", SensorThingsID.json(stream))])),
                ("components", .array(["phenomenonTime", "resultTime", "result", "parameters", "FeatureOfInterest/id"].map { .string($0) })),
                ("dataArray@iot.count", .integer(Int64(indices.count))),
                ("dataArray", .array(indices.map { i in
                    let (a, _, feature) = rows[i]
                    return .array([.string(phenomenonTime(a)), .string(RFC3339.format(a.window.end)),
                                   a.decimal(a.statistics.mean), observationParameters(a), SensorThingsID.json(feature)])
                })),
            ])
        })
        do {
            let response = try await send("POST", serviceRoot + "/CreateObservations", body: body.serialized())
            // 409 is not success by itself: FROST says it for a constraint
            // violation, istSOS4 for an Observation it holds. Ask the hub.
            if response.status == 409 {
                return rows.map { _ in .whole(.unknown(reason: "CreateObservations: HTTP 409 \(response.bodyText.prefix(200))")) }
            }
            try Self.check(response, "CreateObservations")
            guard let answers = JSONAnswer.parse(response.body)?.array, answers.count == flatIndex.count else {
                return rows.map { _ in .whole(.unknown(reason: "CreateObservations: unexpected answer \(response.bodyText.prefix(200))")) }
            }
            var results = [PostAnswer](repeating: .whole(.retry(reason: "no answer", afterSeconds: nil)), count: rows.count)
            for (position, answer) in answers.enumerated() { results[flatIndex[position]] = .row(rowAnswer(answer)) }
            return results
        } catch let failure as Failure {
            return rows.map { _ in .whole(failure.result) }
        } catch {
            // Sent, no answer: the hub may have stored them. Reconciled before any resend.
            return rows.map { _ in .whole(.unknown(reason: "CreateObservations: no answer: \(error)")) }
        }
    }

    func update(_ selfLink: String, with a: OutboundAggregate) async throws {
        let body = JSONText.object([("result", a.decimal(a.statistics.mean)), ("parameters", observationParameters(a))])
        let response = try await send("PATCH", selfLink, body: body.serialized())
        try Self.check(response, "PATCH Observation")
    }
}
