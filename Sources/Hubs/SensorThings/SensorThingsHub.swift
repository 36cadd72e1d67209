import Foundation
import Readings

/// OGC SensorThings API 1.1 (FROST-Server, django-ogc-sensorthings, istSOS4).
///
/// Mapping: a Thing per device (with its Location when the registry has
/// one), an ObservedProperty per metric, a Sensor per sensor kind, and a
/// Datastream per (device, metric, channel, window length). They are created
/// on first use and their ids remembered in the store. Each window is one
/// Observation: `result` = mean, `phenomenonTime` = window end, count / min /
/// max / last and the window key in `parameters`. New windows go in one
/// `CreateObservations` (dataArray) request; a revised window PATCHes the
/// Observation it created before.
public struct SensorThingsHub: Hub {
    public let name: String
    public let isPrivate: Bool
    /// Service root including the version: `http://host:port/sensorthings/v1.1`.
    public let serviceRoot: String
    let references: any HubReferenceStore
    let gatewayID: String
    let credentials: HubCredentials

    public init(name: String, serviceRoot: String, isPrivate: Bool = false, references: any HubReferenceStore,
                gatewayID: String, auth: HubAuth = .none, client: HTTPClient = HTTPClient()) {
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
    /// Observation: on the window's Datastream, `phenomenonTime eq <window
    /// end>` with our window key in `parameters`. The server neither dedups
    /// nor keeps client ids, so this is what keeps a re-send from doubling it.
    public func reconcile(_ inFlight: [OutboundAggregate]) async -> [DeliveryResult?] {
        var results: [DeliveryResult?] = []
        for aggregate in inFlight {
            // A revision PATCHes its own self-link: sending it again is harmless.
            guard aggregate.hubRef == nil else { results.append(nil); continue }
            // No Datastream yet: nothing of this series reached the hub.
            guard let stream = references.reference(hub: name, key: datastreamKey(aggregate)) else { results.append(nil); continue }
            let filter = "phenomenonTime eq \(RFC3339.format(aggregate.window.end))"
            let query = "$filter=\(filter)&$select=@iot.id,parameters&$top=100"
                .addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "+"))) ?? ""
            let url = "\(serviceRoot)/Datastreams(\(Self.literal(stream)))/Observations?\(query)"
            do {
                let response = try await send("GET", url)
                try Self.check(response, "GET Observations")
                guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
                      let rows = object["value"] as? [[String: Any]] else {
                    results.append(.retry(reason: "reconcile: unexpected answer \(response.bodyText.prefix(200))", afterSeconds: nil))
                    continue
                }
                let match = rows.first { ($0["parameters"] as? [String: Any])?["windowKey"] as? String == aggregate.windowKey }
                if let match, let id = match["@iot.id"] {
                    results.append(.delivered(ref: "\(serviceRoot)/Observations(\(Self.literal("\(id)")))"))
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

    /// An entity id in a URL: integers bare (FROST), anything else quoted (UUIDs).
    static func literal(_ id: String) -> String {
        id.allSatisfy(\.isNumber) ? id : "'\(id)'"
    }

    // MARK: - Observations

    func observationParameters(_ a: OutboundAggregate) -> JSONText {
        .object([
            ("count", .integer(a.statistics.count)),
            ("min", a.decimal(a.statistics.min)),
            ("max", a.decimal(a.statistics.max)),
            ("mean", a.decimal(a.statistics.mean)),
            ("last", a.decimal(a.statistics.last)),
            ("revision", .integer(a.revision)),
            ("gatewayId", .string(gatewayID)),
            ("windowKey", .string(a.windowKey)),
            ("windowStart", .string(RFC3339.format(a.window.start))),
            ("windowEnd", .string(RFC3339.format(a.window.end))),
        ])
    }

    func createObservations(_ rows: [(OutboundAggregate, String)]) async -> [DeliveryResult] {
        // One dataArray entry per Datastream, rows in input order within it.
        var order: [String] = []
        var byStream: [String: [Int]] = [:]
        for (index, row) in rows.enumerated() {
            if byStream[row.1] == nil { order.append(row.1) }
            byStream[row.1, default: []].append(index)
        }
        let resultTime = RFC3339.format(EpochMillis(Date().timeIntervalSince1970 * 1000) / 1000 * 1000)
        var flatIndex: [Int] = []
        let body = JSONText.array(order.map { stream in
            let indices = byStream[stream]!
            flatIndex += indices
            return .object([
                ("Datastream", .object([("@iot.id", .string(stream))])),
                ("components", .array([.string("phenomenonTime"), .string("resultTime"), .string("result"), .string("parameters")])),
                ("dataArray@iot.count", .integer(Int64(indices.count))),
                ("dataArray", .array(indices.map { i in
                    let a = rows[i].0
                    return .array([.string(RFC3339.format(a.window.end)), .string(resultTime),
                                   a.decimal(a.statistics.mean), observationParameters(a)])
                })),
            ])
        })
        do {
            let response = try await send("POST", serviceRoot + "/CreateObservations", body: body.serialized())
            try Self.check(response, "CreateObservations")
            if response.status == 409 { return rows.map { _ in .delivered(ref: nil) } }
            guard let links = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [Any], links.count == flatIndex.count else {
                return rows.map { _ in .retry(reason: "CreateObservations: unexpected answer \(response.bodyText.prefix(200))", afterSeconds: nil) }
            }
            var results = [DeliveryResult](repeating: .retry(reason: "no answer", afterSeconds: nil), count: rows.count)
            for (position, link) in links.enumerated() {
                let index = flatIndex[position]
                if let text = link as? String, HubLinks.isUnder(serviceRoot, text) {
                    results[index] = .delivered(ref: text)
                } else if let text = link as? String, !text.hasPrefix("error") {
                    // Not a link the credentials may follow: the hub may hold
                    // the row, so it is reconciled (by window key) before any resend.
                    results[index] = .unknown(reason: "CreateObservations answered \(text.prefix(200)) for this row, not a link under \(serviceRoot)")
                } else {
                    results[index] = .rejected(reason: "CreateObservations answered \"error\" for this row")
                }
            }
            return results
        } catch let failure as Failure {
            return rows.map { _ in failure.result }
        } catch {
            // Sent, no answer: the hub may have stored them. Reconciled before any resend.
            return rows.map { _ in .unknown(reason: "CreateObservations: no answer: \(error)") }
        }
    }

    func update(_ selfLink: String, with a: OutboundAggregate) async throws {
        let body = JSONText.object([("result", a.decimal(a.statistics.mean)), ("parameters", observationParameters(a))])
        let response = try await send("PATCH", selfLink, body: body.serialized())
        try Self.check(response, "PATCH Observation")
    }

    // MARK: - Provisioning (created on first use, remembered)

    func datastreamKey(_ a: OutboundAggregate) -> String {
        let series = a.channel.map { "\(a.metric.name).\($0)" } ?? a.metric.name
        return "datastream/\(a.source)/\(series)/\(a.window.isoDuration)"
    }

    func datastream(for a: OutboundAggregate) async throws -> String {
        let series = a.channel.map { "\(a.metric.name).\($0)" } ?? a.metric.name
        let key = datastreamKey(a)
        if let id = references.reference(hub: name, key: key) { return id }
        let thing = try await thingID(for: a)
        let property = try await entity(
            "observedProperty/\(a.metric.name)", collection: "ObservedProperties",
            body: .object([
                ("name", .string(a.metric.name)),
                ("definition", .string("https://citygate.invalid/metrics/\(a.metric.name)")),
                ("description", .string("\(a.metric.name) in \(a.metric.unitSymbol)")),
            ]))
        let sensor = try await entity(
            "sensor/\(a.kind.rawValue)", collection: "Sensors",
            body: .object([
                ("name", .string("\(a.kind.rawValue) sensor")),
                ("description", .string("LoRaWAN/NB-IoT \(a.kind.rawValue) sensor, decoded by citygate")),
                ("encodingType", .string("text/html")),
                ("metadata", .string("https://citygate.invalid/kinds/\(a.kind.rawValue)")),
            ]))
        let streamKey = "\(a.source)/\(series)/\(a.window.isoDuration)"
        return try await entity(
            key, collection: "Datastreams",
            body: .object([
                ("name", .string("\(a.deviceName ?? a.source) \(series) \(a.window.isoDuration) mean")),
                ("description", .string("Mean \(a.metric.name) over \(a.window.isoDuration) windows, computed by the gateway")),
                ("observationType", .string("http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement")),
                ("unitOfMeasurement", .object([
                    ("name", .string(a.metric.unitCode)), ("symbol", .string(a.metric.unitSymbol)),
                    ("definition", .string("urn:un:unece:uncefact:unit:\(a.metric.unitCode)")),
                ])),
                ("properties", .object([
                    ("aggregation", .string("mean")), ("aggregationPeriod", .string(a.window.isoDuration)),
                    ("gatewayStreamKey", .string(streamKey)),
                ])),
                ("Thing", .object([("@iot.id", .string(thing))])),
                ("Sensor", .object([("@iot.id", .string(sensor))])),
                ("ObservedProperty", .object([("@iot.id", .string(property))])),
            ]))
    }

    func thingID(for a: OutboundAggregate) async throws -> String {
        var members: [(String, JSONText)] = [
            ("name", .string(a.deviceName ?? a.source)),
            ("description", .string("\(a.kind.rawValue) sensor \(a.source)")),
            ("properties", .object([
                ("gatewayDeviceId", .string(a.source)), ("deviceKind", .string(a.kind.rawValue)),
                ("zone", a.zone.map { .string($0) } ?? .null),
            ])),
        ]
        if let location = a.location {
            members.append(("Locations", .array([.object([
                ("name", .string(a.deviceName ?? a.source)),
                ("description", .string("Where \(a.source) is mounted")),
                ("encodingType", .string("application/geo+json")),
                ("location", .object([("type", .string("Point")), ("coordinates", .array([.number(location.longitude), .number(location.latitude)]))])),
            ])])))
        }
        return try await entity("thing/\(a.source)", collection: "Things", body: .object(members))
    }

    /// Creates an entity once and remembers the id from its `Location` header.
    func entity(_ key: String, collection: String, body: JSONText) async throws -> String {
        if let id = references.reference(hub: name, key: key) { return id }
        let response = try await send("POST", "\(serviceRoot)/\(collection)", body: body.serialized())
        try Self.check(response, "POST \(collection)")
        guard let id = response.header("Location").flatMap(Self.entityID(fromLocation:)) else {
            throw Failure.retry("POST \(collection): no entity id in the Location header", nil)
        }
        references.remember(hub: name, key: key, reference: id)
        return id
    }

    /// `.../Things('0192-...')` or `.../Things(42)` → `0192-...` / `42`.
    static func entityID(fromLocation location: String) -> String? {
        guard let open = location.lastIndex(of: "("), let close = location.lastIndex(of: ")"), open < close else { return nil }
        var id = location[location.index(after: open)..<close]
        if id.hasPrefix("'") && id.hasSuffix("'") && id.count >= 2 { id = id.dropFirst().dropLast() }
        return id.isEmpty ? nil : String(id)
    }

    static func check(_ response: HTTPResponse, _ what: String) throws {
        switch response.status {
        case 200...299, 409:  // 409: the hub already holds it (istSOS4)
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
