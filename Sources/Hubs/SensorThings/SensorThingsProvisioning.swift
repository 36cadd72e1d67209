import FoundationEssentials
import Readings

/// The entities an Observation hangs on: Thing (with its Location), Sensor,
/// ObservedProperty, Datastream and FeatureOfInterest. Each is found or
/// created on first use and its id remembered in the store.
///
/// Idempotent: before creating, the hub is asked for an entity of that name
/// whose `properties.citygateKey` is ours, so a POST whose answer was lost
/// (a timeout, a crash before the id was remembered) never makes a twin.
extension SensorThingsHub {
    func datastreamKey(_ a: OutboundAggregate) -> String {
        "datastream/\(a.source)/\(series(a))/\(a.window.isoDuration)"
    }

    func series(_ a: OutboundAggregate) -> String {
        a.channel.map { "\(a.metric.name).\($0)" } ?? a.metric.name
    }

    func datastream(for a: OutboundAggregate) async throws -> String {
        let key = datastreamKey(a)
        if let id = references.reference(hub: name, key: key) { return id }
        let thing = try await thingID(for: a)
        let property = try await entity(
            "observedProperty/\(a.metric.name)", collection: "ObservedProperties", name: a.metric.name,
            members: [
                ("definition", .string(SensorThingsVocabulary.propertyDefinition(a.metric))),
                ("description", .string("\(a.metric.name) in \(a.metric.unitSymbol)")),
            ])
        let sensor = try await entity(
            "sensor/\(a.kind.rawValue)", collection: "Sensors", name: "\(a.kind.rawValue) sensor",
            members: [
                ("description", .string("LoRaWAN/NB-IoT \(a.kind.rawValue) sensor, decoded by citygate (\(gatewayID))")),
                // SensorThings servers take text/html, PDF or SensorML here
                // (django-ogc-sensorthings refuses anything else). There is no
                // page of ours to point at, so the HTML travels as a data: URL
                // rather than a link to a host that does not exist.
                ("encodingType", .string("text/html")),
                ("metadata", .string(Self.htmlDataURL("<p>\(a.kind.rawValue) sensor (LoRaWAN/NB-IoT); payloads decoded with exact fixed-point arithmetic by citygate</p>"))),
            ])
        let unit = SensorThingsVocabulary.unit(a.metric)
        return try await entity(
            key, collection: "Datastreams", name: "\(a.deviceName ?? a.source) \(series(a)) \(a.window.isoDuration) mean",
            members: [
                ("description", .string("Mean \(a.metric.name) over \(a.window.isoDuration) windows, computed by the gateway")),
                ("observationType", .string("http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement")),
                ("unitOfMeasurement", .object([
                    ("name", .string(unit.name)), ("symbol", .string(unit.symbol)), ("definition", .string(unit.definition)),
                ])),
                ("Thing", .object([("@iot.id", SensorThingsID.json(thing))])),
                ("Sensor", .object([("@iot.id", SensorThingsID.json(sensor))])),
                ("ObservedProperty", .object([("@iot.id", SensorThingsID.json(property))])),
            ],
            properties: [("aggregation", .string("mean")), ("aggregationPeriod", .string(a.window.isoDuration)),
                         ("gatewayStreamKey", .string("\(a.source)/\(series(a))/\(a.window.isoDuration)"))])
    }

    func thingID(for a: OutboundAggregate) async throws -> String {
        var members: [(String, JSONText)] = [("description", .string("\(a.kind.rawValue) sensor \(a.source)"))]
        if let location = a.location {
            members.append(("Locations", .array([.object([
                ("name", .string(a.deviceName ?? a.source)),
                ("description", .string("Where \(a.source) is mounted")),
                ("encodingType", .string("application/geo+json")),
                ("location", Self.point(location)),
            ])])))
        }
        return try await entity(
            "thing/\(a.source)", collection: "Things", name: a.deviceName ?? a.source, members: members,
            properties: [("gatewayDeviceId", .string(a.source)), ("deviceKind", .string(a.kind.rawValue)),
                         ("zone", a.zone.map { .string($0) } ?? .null)])
    }

    /// Where the window was observed: the device's own position when the
    /// registry has one (one feature per device), else its zone's (one per
    /// zone); a roll-up's is its group's centroid. Every Observation names
    /// one, so a server never has to derive it from a Thing's Location
    /// (FROST answers 409 when the Thing has none; real-hubs.md).
    func featureKey(_ a: OutboundAggregate) -> String? {
        if a.isRollup { return a.location != nil || a.areaLocation != nil ? "feature/rollup/\(a.source)" : nil }
        if a.location != nil { return "feature/device/\(a.source)" }
        if a.areaLocation != nil, let zone = a.zone { return "feature/zone/\(zone)" }
        return nil
    }

    func featureOfInterest(for a: OutboundAggregate) async throws -> String {
        guard let key = featureKey(a), let point = a.placedAt else {
            throw Failure.rejected("no position for \(a.isRollup ? "roll-up" : "device") \(a.source): give the device coordinates in the registry, or its zone a [[zone]] point")
        }
        if let id = references.reference(hub: name, key: key) { return id }
        let (featureName, description): (String, String) =
            if a.isRollup { ("\(a.source) centroid", "Centroid of the located devices of \(a.source)") }
            else if a.location != nil { (a.deviceName ?? a.source, "Where \(a.source) is mounted") }
            else { ("zone \(a.zone ?? "")", "Zone \(a.zone ?? "") (its [[zone]] point, or the centroid of its located devices)") }
        return try await entity(
            key, collection: "FeaturesOfInterest", name: featureName,
            members: [("description", .string(description)), ("encodingType", .string("application/geo+json")),
                      ("feature", Self.point(point))])
    }

    /// `data:text/html,...` with the markup percent-encoded (RFC 2397).
    static func htmlDataURL(_ html: String) -> String {
        "data:text/html;charset=utf-8," + PercentEncoding.encode(html, allowing: PercentEncoding.alphanumerics)
    }

    static func point(_ location: (longitude: String, latitude: String)) -> JSONText {
        .object([("type", .string("Point")), ("coordinates", .array([.number(location.longitude), .number(location.latitude)]))])
    }

    /// Finds the entity this key names at the hub, or creates it, and
    /// remembers its id. `properties` gets our `citygateKey` added.
    func entity(_ key: String, collection: String, name entityName: String, members: [(String, JSONText)],
                properties: [(String, JSONText)] = []) async throws -> String {
        if let id = references.reference(hub: name, key: key) { return id }
        if let id = try await lookUp(key, collection: collection, name: entityName) {
            references.remember(hub: name, key: key, reference: id)
            return id
        }
        let body = JSONText.object([("name", .string(entityName))] + members
                                   + [("properties", .object(properties + [("citygateKey", .string(key))]))])
        let response = try await send("POST", "\(serviceRoot)/\(collection)", body: body.serialized())
        if response.status == 409 {
            // A constraint violation (FROST) or a twin (istSOS4): ask again.
            if let id = try await lookUp(key, collection: collection, name: entityName) {
                references.remember(hub: name, key: key, reference: id)
                return id
            }
            throw Failure.rejected("POST \(collection): HTTP 409 \(response.bodyText.prefix(500))")
        }
        try Self.check(response, "POST \(collection)")
        guard let id = response.header("Location").flatMap(SensorThingsID.literal(fromLocation:)) else {
            throw Failure.retry("POST \(collection): no entity id in the Location header", nil)
        }
        references.remember(hub: name, key: key, reference: id)
        return id
    }

    /// The id of the entity of that name whose `properties.citygateKey` is
    /// `key`, if the hub holds one.
    func lookUp(_ key: String, collection: String, name entityName: String) async throws -> String? {
        let query = SensorThingsID.query([("$filter", "name eq \(SensorThingsID.stringLiteral(entityName))"), ("$top", "100")])
        let response = try await send("GET", "\(serviceRoot)/\(collection)?\(query)")
        try Self.check(response, "GET \(collection)")
        guard let rows = JSONAnswer.parse(response.body)?["value"]?.array else {
            throw Failure.retry("GET \(collection): unexpected answer \(response.bodyText.prefix(200))", nil)
        }
        let ours = rows.first { $0["properties"]?["citygateKey"]?.string == key }
        return ours.flatMap { SensorThingsID.literal(fromJSON: $0["@iot.id"]) }
    }
}
