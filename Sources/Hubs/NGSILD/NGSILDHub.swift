import FoundationEssentials
import Readings

/// NGSI-LD (ETSI GS CIM 009: Orion-LD, Scorpio, Stellio) through batch upsert:
/// `POST /ngsi-ld/v1/entityOperations/upsert?options=update`, one entity per
/// source and window with its own `@context` (`application/ld+json`, no Link
/// header). The broker keeps the history by `observedAt`.
///
/// Answers: 201/204 delivered; 207 delivered for the `success` ids, and per
/// failed entity retried (a broker-side fault) or dead-lettered (its data was
/// refused) with the broker's ProblemDetails; 400 dead-letters the request;
/// 401/403 pause the hub; 408/429/5xx (504 = @context not fetchable) retry,
/// honouring Retry-After. A request that got no answer stays in flight and is
/// reconciled by reading the entity back before anything is sent again,
/// because Orion-LD adds a second history entry for a re-sent `observedAt`.
public struct NGSILDHub: Hub {
    public let name: String
    public let isPrivate: Bool
    public let baseURL: String
    public let tenant: String?
    public let builder: NGSILDEntityBuilder
    let credentials: HubCredentials

    public init(name: String, baseURL: String, isPrivate: Bool = false, tenant: String? = nil, gatewayID: String,
                contexts: NGSILDContexts = .init(), multiInstance: Bool = false, auth: HubAuth = .none, client: HTTPClient = HTTPClient()) {
        self.name = name
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.isPrivate = isPrivate
        self.tenant = tenant
        self.builder = NGSILDEntityBuilder(gatewayID: gatewayID, contexts: contexts, multiInstance: multiInstance)
        self.credentials = HubCredentials(auth: auth, client: client)
    }

    /// The aggregates of one entity (source) and one window.
    struct Draft {
        var entityID: String
        var indices: [Int]
    }

    /// Groups a batch into entities and splits them into requests in which
    /// each entity id appears once; requests go in window order.
    static func plan(_ batch: [OutboundAggregate], builder: NGSILDEntityBuilder) -> [[Draft]] {
        var drafts: [Draft] = []
        var draftIndex: [String: Int] = [:]
        for (index, aggregate) in batch.enumerated() {
            let id = builder.entityID(aggregate)
            let key = "\(id)@\(aggregate.window.start)/\(aggregate.window.length)"
            if let existing = draftIndex[key] { drafts[existing].indices.append(index); continue }
            draftIndex[key] = drafts.count
            drafts.append(Draft(entityID: id, indices: [index]))
        }
        var rounds: [[Draft]] = []
        var seen: [String: Int] = [:]
        for draft in drafts {
            let round = seen[draft.entityID, default: 0]
            seen[draft.entityID] = round + 1
            if round == rounds.count { rounds.append([]) }
            rounds[round].append(draft)
        }
        return rounds
    }

    public func deliver(_ batch: [OutboundAggregate]) async -> [DeliveryResult] {
        var results = [DeliveryResult?](repeating: nil, count: batch.count)
        var stop: DeliveryResult?
        for round in Self.plan(batch, builder: builder) {
            if let stop {
                for draft in round { for i in draft.indices { results[i] = stop } }
                continue
            }
            let outcome = await upsert(round, batch)
            for (draft, result) in zip(round, outcome) {
                for i in draft.indices { results[i] = result }
                switch result {
                case .retry, .unauthorized, .unknown: stop = stop ?? result
                default: break
                }
            }
        }
        return results.map { $0 ?? .retry(reason: "not attempted", afterSeconds: nil) }
    }

    /// Headers of every request (the auth headers are added by `credentials`).
    var requestHeaders: [String: String] {
        var headers = ["Accept": "application/json"]
        if let tenant { headers["NGSILD-Tenant"] = tenant }
        return headers
    }

    /// One upsert request; one result per draft.
    func upsert(_ drafts: [Draft], _ batch: [OutboundAggregate]) async -> [DeliveryResult] {
        let body = JSONText.array(drafts.map { draft in builder.entity(draft.indices.map { batch[$0] }) }).serialized()
        var headers = requestHeaders
        headers["Content-Type"] = "application/ld+json"
        let response: HTTPResponse
        do {
            response = try await credentials.send("POST", baseURL + "/ngsi-ld/v1/entityOperations/upsert?options=update", headers: headers, body: body)
        } catch let error as HubAuthError {
            return drafts.map { _ in .unauthorized(reason: "\(error)") }
        } catch {
            return drafts.map { _ in .unknown(reason: "upsert: no answer: \(error)") }
        }
        switch response.status {
        case 200, 201, 204:
            return drafts.map { .delivered(ref: $0.entityID) }
        case 207:
            return Self.partial(response, drafts)
        case 401, 403:
            return drafts.map { _ in .unauthorized(reason: "upsert: HTTP \(response.status) \(Self.problem(response))") }
        case 408, 429, 500...599:
            return drafts.map { _ in .retry(reason: "upsert: HTTP \(response.status) \(Self.problem(response))", afterSeconds: response.retryAfterSeconds) }
        default:
            return drafts.map { _ in .rejected(reason: "upsert: HTTP \(response.status) \(response.bodyText.prefix(500))") }
        }
    }

    /// A 207 BatchOperationResult: `success` ids delivered; each `errors`
    /// entry retried when the broker failed (5xx status or an internal /
    /// context-fetch problem type), dead-lettered when it refused the data.
    static func partial(_ response: HTTPResponse, _ drafts: [Draft]) -> [DeliveryResult] {
        guard let object = JSONAnswer.parse(response.body), object.isObject else {
            return drafts.map { _ in .retry(reason: "upsert: HTTP 207 without a BatchOperationResult", afterSeconds: nil) }
        }
        let success = Set((object["success"]?.array ?? []).compactMap(\.string))
        var failures: [String: DeliveryResult] = [:]
        for entry in object["errors"]?.array ?? [] {
            guard let id = entry["entityId"]?.string else { continue }
            let error = entry["error"]
            let type = error?["type"]?.string ?? ""
            let status = error?["status"]?.integer ?? 400
            let text = [error?["title"]?.string, error?["detail"]?.string].compactMap { $0 }.joined(separator: ": ")
            let reason = "upsert: entity \(id) refused: \(type) \(text)"
            if status >= 500 || type.hasSuffix("/InternalError") || type.hasSuffix("/LdContextNotAvailable") {
                failures[id] = .retry(reason: reason, afterSeconds: nil)
            } else {
                failures[id] = .rejected(reason: reason)
            }
        }
        return drafts.map { draft in
            if success.contains(draft.entityID) { return .delivered(ref: draft.entityID) }
            return failures[draft.entityID] ?? .retry(reason: "upsert: HTTP 207 did not mention \(draft.entityID)", afterSeconds: nil)
        }
    }

    static func problem(_ response: HTTPResponse) -> String {
        guard let object = JSONAnswer.parse(response.body), object.isObject else {
            return String(response.bodyText.prefix(200))
        }
        return [object["type"]?.string, object["title"]?.string, object["detail"]?.string].compactMap { $0 }.joined(separator: " ")
    }

    /// Reads each entity back: a first delivery of a window arrived when the
    /// attribute's default instance is observed at or after the window's end
    /// (windows of one source are sent in order, so a later one implies this one).
    ///
    /// The GET carries the entity's Smart Data Models context in a Link
    /// header, as the write did in its body: without it a broker compacts the
    /// answer with the core context only and expands `attrs=` against the
    /// default context, so a window that is there would not be found (ETSI GS
    /// CIM 009 context handling; real-hubs.md). A broker that answers with
    /// expanded IRIs anyway is read by the term's IRI.
    public func reconcile(_ inFlight: [OutboundAggregate]) async -> [DeliveryResult?] {
        var results: [DeliveryResult?] = []
        for aggregate in inFlight {
            // A revision of a window the broker already has carries the same
            // observedAt: reading the entity back cannot tell the revisions
            // apart, so it is sent again (an upsert of the same window).
            guard aggregate.hubRef == nil else { results.append(nil); continue }
            let id = builder.entityID(aggregate)
            let attribute = builder.attributeName(aggregate)
            let url = "\(baseURL)/ngsi-ld/v1/entities/\(PercentEncoding.encode(id, allowing: PercentEncoding.pathAllowed))?attrs=\(attribute)"
            var headers = requestHeaders
            headers["Link"] = "<\(builder.context(aggregate))>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\""
            let response: HTTPResponse
            do {
                response = try await credentials.send("GET", url, headers: headers)
            } catch let error as HubAuthError {
                results.append(.unauthorized(reason: "\(error)"))
                continue
            } catch {
                results.append(.retry(reason: "reconcile: \(name) unreachable", afterSeconds: nil))
                continue
            }
            switch response.status {
            case 200:
                let observed = Self.defaultInstanceObservedAt(response.body, attribute: attribute)
                    ?? Self.defaultInstanceObservedAt(response.body, attribute: SmartDataModelTerms.iri(attribute))
                results.append(observed.map { $0 >= aggregate.window.end } == true ? .delivered(ref: id) : nil)
            case 404:
                results.append(nil)
            case 401, 403:
                results.append(.unauthorized(reason: "reconcile: HTTP \(response.status)"))
            default:
                results.append(.retry(reason: "reconcile: HTTP \(response.status)", afterSeconds: response.retryAfterSeconds))
            }
        }
        return results
    }

    static func defaultInstanceObservedAt(_ body: [UInt8], attribute: String) -> EpochMillis? {
        guard let object = JSONAnswer.parse(body), let member = object[attribute] else { return nil }
        let instances: [JSONAnswer]
        if let list = member.array { instances = list.filter(\.isObject) }
        else if member.isObject { instances = [member] }
        else { return nil }
        guard let instance = instances.first(where: { $0["datasetId"] == nil }),
              let text = (instance["observedAt"] ?? instance["https://uri.etsi.org/ngsi-ld/observedAt"])?.string else { return nil }
        return RFC3339.parseMillis(text)
    }
}
