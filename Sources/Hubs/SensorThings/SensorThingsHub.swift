import FoundationEssentials
import Readings

/// OGC SensorThings API 1.1 (FROST-Server, django-ogc-sensorthings, istSOS4).
///
/// Mapping: a Thing per device (with its Location when the registry has
/// one), an ObservedProperty per metric, a Sensor per sensor kind, a
/// Datastream per (device, metric, channel, window length), and a
/// FeatureOfInterest per located device or zone (SensorThingsProvisioning).
/// Each window is one Observation: `result` = mean, `phenomenonTime` = the
/// window `start/end`, `resultTime` = window end, count / min / max / last and
/// the window key in `parameters` (SensorThingsObservations). New windows go
/// in one `CreateObservations` (dataArray) request; a revised window PATCHes
/// the Observation it created before.
public struct SensorThingsHub: Hub {
    /// How `phenomenonTime` is written. An aggregate covers an interval, and
    /// FROST-Server takes one; django-ogc-sensorthings 1.2.0 answers it with
    /// a 500, so such servers get the window end, with the start in
    /// `parameters.windowStart` (../shared/reference/hub/real-hubs.md).
    public enum PhenomenonTimeStyle: String, Sendable, Equatable, CaseIterable {
        case interval, instant
    }

    public let name: String
    public let isPrivate: Bool
    /// Service root including the version: `http://host:port/sensorthings/v1.1`.
    public let serviceRoot: String
    let references: any HubReferenceStore
    let gatewayID: String
    let credentials: HubCredentials
    let phenomenonTimeStyle: PhenomenonTimeStyle

    public init(name: String, serviceRoot: String, isPrivate: Bool = false, references: any HubReferenceStore,
                gatewayID: String, auth: HubAuth = .none, client: HTTPClient = HTTPClient(),
                phenomenonTime: PhenomenonTimeStyle = .interval) {
        self.phenomenonTimeStyle = phenomenonTime
        self.credentials = HubCredentials(auth: auth, client: client)
        self.name = name
        self.serviceRoot = serviceRoot.hasSuffix("/") ? String(serviceRoot.dropLast()) : serviceRoot
        self.isPrivate = isPrivate
        self.references = references
        self.gatewayID = gatewayID
    }

    /// Why one request failed, mapped to what the delivery ledger does.
    enum Failure: Error {
        case retry(String, Int?)
        case rejected(String)
        case unauthorized(String)

        var result: DeliveryResult {
            switch self {
            case let .retry(reason, after): return .retry(reason: reason, afterSeconds: after)
            case let .rejected(reason): return .rejected(reason: reason)
            case let .unauthorized(reason): return .unauthorized(reason: reason)
            }
        }
    }

    /// One request with the hub's auth headers. A 401/403 drops a cached token.
    func send(_ method: String, _ url: String, body: String? = nil) async throws -> HTTPResponse {
        do {
            return try await credentials.send(method, url, body: body)
        } catch let error as HubAuthError {
            throw Failure.unauthorized("\(error)")
        }
    }

    public func deliver(_ batch: [OutboundAggregate]) async -> [DeliveryResult] {
        var results = [DeliveryResult?](repeating: nil, count: batch.count)
        var newRows: [(index: Int, datastream: String)] = []
        for (index, aggregate) in batch.enumerated() {
            // The batch is in window order: after a transient failure, later
            // windows wait too, so the hub never receives a newer window
            // before an older one.
            if let stop = results.compactMap({ $0 }).first(where: {
                switch $0 { case .retry, .unauthorized, .unknown: return true; default: return false }
            }) {
                results[index] = stop
                continue
            }
            do {
                if let ref = aggregate.hubRef {
                    // Only a link under the service root gets the credentials
                    // (one stored before this was checked may point anywhere).
                    guard HubLinks.isUnder(serviceRoot, ref) else {
                        results[index] = .rejected(reason: "the hub's link \(ref.prefix(200)) is not under \(serviceRoot); not sent")
                        continue
                    }
                    try await update(ref, with: aggregate)
                    results[index] = .delivered(ref: ref)
                } else {
                    newRows.append((index, try await datastream(for: aggregate)))
                }
            } catch let failure as Failure {
                results[index] = failure.result
            } catch {
                results[index] = .retry(reason: "\(error)", afterSeconds: nil)
            }
        }
        if !newRows.isEmpty {
            let created = await createObservations(newRows.map { (batch[$0.index], $0.datastream) })
            for (row, result) in zip(newRows, created) { results[row.index] = result }
        }
        return results.map { $0 ?? .retry(reason: "not attempted", afterSeconds: nil) }
    }

    // MARK: - Reconciliation after a crash or a lost answer

    /// Asks the hub, per in-flight window, whether it already holds the
    /// Observation: on the window's Datastream, `resultTime eq <window end>`
    /// (or `phenomenonTime`, for instant style, as versions before 0.2 sent
    /// it) with our window key in `parameters`. The server neither dedups
    /// nor keeps client ids, so this is what keeps a re-send from doubling it.
    public func reconcile(_ inFlight: [OutboundAggregate]) async -> [DeliveryResult?] {
        var results: [DeliveryResult?] = []
        for aggregate in inFlight {
            // A revision PATCHes its own self-link: sending it again is harmless.
            guard aggregate.hubRef == nil else { results.append(nil); continue }
            // No Datastream yet: nothing of this series reached the hub.
            guard let stream = references.reference(hub: name, key: datastreamKey(aggregate)) else { results.append(nil); continue }
            let time = phenomenonTimeStyle == .instant ? "phenomenonTime" : "resultTime"
            let query = SensorThingsID.query([("$filter", "\(time) eq \(RFC3339.format(aggregate.window.end))"), ("$top", "100")])
            let url = "\(serviceRoot)/Datastreams(\(SensorThingsID.literal(stream)))/Observations?\(query)"
            do {
                let response = try await send("GET", url)
                try Self.check(response, "GET Observations")
                guard let rows = JSONAnswer.parse(response.body)?["value"]?.array else {
                    results.append(.retry(reason: "reconcile: unexpected answer \(response.bodyText.prefix(200))", afterSeconds: nil))
                    continue
                }
                let match = rows.first { $0["parameters"]?["windowKey"]?.string == aggregate.windowKey }
                if let match, let id = SensorThingsID.literal(fromJSON: match["@iot.id"]) {
                    results.append(.delivered(ref: "\(serviceRoot)/Observations(\(id))"))
                } else {
                    results.append(nil)
                }
            } catch let failure as Failure {
                results.append(failure.result)
            } catch {
                results.append(.retry(reason: "reconcile: \(error)", afterSeconds: nil))
            }
        }
        return results
    }

    static func check(_ response: HTTPResponse, _ what: String) throws {
        switch response.status {
        case 200...299:
            return
        case 401, 403:
            throw Failure.unauthorized("\(what): HTTP \(response.status)")
        case 429, 503:
            throw Failure.retry("\(what): HTTP \(response.status)", response.retryAfterSeconds)
        case 408, 500...599:
            throw Failure.retry("\(what): HTTP \(response.status) \(response.bodyText.prefix(200))", response.retryAfterSeconds)
        default:
            throw Failure.rejected("\(what): HTTP \(response.status) \(response.bodyText.prefix(500))")
        }
    }
}
