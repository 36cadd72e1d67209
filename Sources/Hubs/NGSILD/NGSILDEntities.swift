import Readings

/// The @context documents an entity names, by Smart Data Model domain. The
/// defaults are the models' published contexts; a broker that cannot reach
/// GitHub answers 504, so an offline site serves copies and points these at them.
public struct NGSILDContexts: Sendable, Equatable {
    public var environment = "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/context.jsonld"
    public var wasteManagement = "https://raw.githubusercontent.com/smart-data-models/dataModel.WasteManagement/master/context.jsonld"
    public var parking = "https://raw.githubusercontent.com/smart-data-models/dataModel.Parking/master/context.jsonld"
    public var device = "https://raw.githubusercontent.com/smart-data-models/dataModel.Device/master/context.jsonld"
    public var core = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
    public init() {}
}

/// Builds NGSI-LD entities (Smart Data Models, normalized form) from the
/// aggregates of one source and one window. Pure: no I/O.
///
/// - air quality → `AirQualityObserved` (a station roll-up too)
/// - damp → `IndoorEnvironmentObserved` (per home to private hubs; a zone
///   roll-up over at least k homes to public ones)
/// - waste bin → `WasteContainer`; a zone roll-up → `WasteContainerIsle`
/// - parking → `ParkingSpot` (`status`); a zone roll-up → `OnStreetParking`
///   (`availableSpotNumber`, `occupiedSpotNumber`, `totalSpotNumber`)
/// - anything else → `DeviceMeasurement`
///
/// Every measured attribute carries `observedAt` = window end and, under
/// the Smart Data Models name, the window mean. The window's minimum,
/// maximum, last value and count travel as sub-properties of that attribute
/// (`minimum`, `maximum`, `last`, `count`): FIWARE Orion-LD 1.x refuses
/// `datasetId` in batch upserts (207 BadRequestData for every entity;
/// ../shared/reference/hub/real-hubs.md), and sub-properties keep the four
/// figures with the value and instant they describe, without names the models
/// do not have (`min` and `max` are NGSI-LD core terms, hence the long names).
/// `multiInstance` (a hub's `multi_instance = true`) sends them as `datasetId`
/// instances instead (`urn:ngsi-ld:Dataset:min:PT15M`), for brokers that take
/// them. Percentages the models define as 0..1 (`relativeHumidity`,
/// `fillingLevel`) are scaled exactly (two more decimals).
public struct NGSILDEntityBuilder: Sendable {
    public var gatewayID: String
    public var contexts: NGSILDContexts
    public var multiInstance: Bool

    public init(gatewayID: String, contexts: NGSILDContexts = .init(), multiInstance: Bool = false) {
        self.gatewayID = gatewayID
        self.contexts = contexts
        self.multiInstance = multiInstance
    }

    public func entityType(_ a: OutboundAggregate) -> String {
        switch (a.kind, a.isRollup) {
        case (.airQuality, _): return "AirQualityObserved"
        case (.damp, _): return "IndoorEnvironmentObserved"
        case (.wasteBin, false): return "WasteContainer"
        case (.wasteBin, true): return "WasteContainerIsle"
        case (.parking, false): return "ParkingSpot"
        case (.parking, true): return "OnStreetParking"
        default: return "DeviceMeasurement"
        }
    }

    /// The Smart Data Models context of the entity's domain (the one a
    /// read-back sends in its Link header, so terms compact as written).
    public func context(_ a: OutboundAggregate) -> String {
        switch a.kind {
        case .airQuality, .damp: return contexts.environment
        case .wasteBin: return contexts.wasteManagement
        case .parking: return contexts.parking
        default: return contexts.device
        }
    }

    /// `urn:ngsi-ld:AirQualityObserved:<gateway>:<source>`: the same for every
    /// window of a source, so each window updates the entity and adds to its history.
    public func entityID(_ a: OutboundAggregate) -> String {
        "urn:ngsi-ld:\(entityType(a)):\(Self.urnPart(gatewayID)):\(Self.urnPart(a.source))"
    }

    /// The attribute an aggregate sets (for reconciliation: its default
    /// instance's `observedAt` says whether this window arrived).
    public func attributeName(_ a: OutboundAggregate) -> String {
        if a.metric == .occupied && a.kind == .parking { return a.isRollup ? "occupiedSpotNumber" : "status" }
        return a.metric.info.ngsiLDName
    }

    /// The NGSI-LD entity for aggregates of one source and one window.
    public func entity(_ items: [OutboundAggregate]) -> JSONText {
        guard let first = items.first else { return .null }
        let end = RFC3339.format(first.window.end)
        var members: [(String, JSONText)] = [("id", .string(entityID(first))), ("type", .string(entityType(first)))]
        // dateObserved is a date-time in the models that have it
        // (AirQualityObserved, IndoorEnvironmentObserved, DeviceMeasurement);
        // none has a dateObservedFrom/To, so the window start stays implied
        // by the attribute's period. WasteContainer and ParkingSpot have none.
        if ["AirQualityObserved", "IndoorEnvironmentObserved", "DeviceMeasurement"].contains(entityType(first)) {
            members.append(("dateObserved", property(.object([("@type", .string("DateTime")), ("@value", .string(end))]))))
        }
        // The models require a location: a device without coordinates is
        // placed at its zone ([[zone]] point, or its located devices' centroid).
        if let location = first.placedAt {
            members.append(("location", .object([
                ("type", .string("GeoProperty")),
                ("value", .object([("type", .string("Point")), ("coordinates", .array([.number(location.longitude), .number(location.latitude)]))])),
            ])))
        }
        for item in items { members += attributes(item, observedAt: end) }
        if first.isRollup {
            if let zone = first.zone { members.append(("areaServed", property(.string(zone)))) }
        } else {
            // WasteContainer and ParkingSpot take a list of devices; the others one.
            let device = JSONText.string("urn:ngsi-ld:Device:\(Self.urnPart(first.source))")
            let listed = ["WasteContainer", "ParkingSpot"].contains(entityType(first))
            members.append(("refDevice", .object([("type", .string("Relationship")), ("object", listed ? .array([device]) : device)])))
        }
        if entityType(first) == "ParkingSpot" {
            // The sensors are in-street spot sensors; the site is the zone's
            // OnStreetParking, the entity its roll-up updates.
            members.append(("category", property(.array([.string("onStreet")]))))
            if let zone = first.zone, !zone.isEmpty {
                let site = "urn:ngsi-ld:OnStreetParking:\(Self.urnPart(gatewayID)):\(Self.urnPart("zone:\(zone):parking"))"
                members.append(("refParkingSite", .object([("type", .string("Relationship")), ("object", .string(site))])))
            }
        }
        members.append(("@context", .array([.string(context(first)), .string(contexts.core)])))
        return .object(members)
    }

    func property(_ value: JSONText, observedAt: String? = nil, unitCode: String? = nil, datasetID: String? = nil,
                  subProperties: [(String, JSONText)] = []) -> JSONText {
        var members: [(String, JSONText)] = [("type", .string("Property")), ("value", value)]
        if let unitCode { members.append(("unitCode", .string(unitCode))) }
        if let observedAt { members.append(("observedAt", .string(observedAt))) }
        if let datasetID { members.append(("datasetId", .string(datasetID))) }
        return .object(members + subProperties)
    }

    func attributes(_ a: OutboundAggregate, observedAt end: String) -> [(String, JSONText)] {
        let s = a.statistics
        if a.kind == .parking && a.metric == .occupied {
            if let rollup = a.rollup {
                return [
                    ("totalSpotNumber", property(.integer(rollup.members))),
                    ("occupiedSpotNumber", property(.integer(rollup.total), observedAt: end)),
                    ("availableSpotNumber", property(.integer(rollup.members - rollup.total), observedAt: end)),
                ]
            }
            return [("status", property(.string(s.last == 0 ? "free" : "occupied"), observedAt: end))]
        }
        let isFraction = a.metric.info.isFraction
        let decimals = a.metric.decimals + (isFraction ? 2 : 0)
        let unit: String? = isFraction || a.metric.unitCode == "C62" ? nil : a.metric.unitCode
        let period = a.window.isoDuration
        func value(_ units: Int64) -> JSONText { .decimal(units, decimals: decimals) }
        guard multiInstance else {
            return [(attributeName(a), property(value(s.mean), observedAt: end, unitCode: unit, subProperties: [
                ("minimum", property(value(s.min), unitCode: unit)),
                ("maximum", property(value(s.max), unitCode: unit)),
                ("last", property(value(s.last), unitCode: unit)),
                ("count", property(.integer(s.count))),
            ]))]
        }
        let instances: [JSONText] = [
            property(value(s.mean), observedAt: end, unitCode: unit),
            property(value(s.min), observedAt: end, unitCode: unit, datasetID: "urn:ngsi-ld:Dataset:min:\(period)"),
            property(value(s.max), observedAt: end, unitCode: unit, datasetID: "urn:ngsi-ld:Dataset:max:\(period)"),
            property(value(s.last), observedAt: end, unitCode: unit, datasetID: "urn:ngsi-ld:Dataset:last:\(period)"),
            property(.integer(s.count), observedAt: end, datasetID: "urn:ngsi-ld:Dataset:count:\(period)"),
        ]
        return [(attributeName(a), .array(instances))]
    }

    /// Characters an NGSI-LD URN takes as they are; anything else is %-escaped.
    static func urnPart(_ text: String) -> String { PercentEncoding.encode(text, allowing: urnAllowed) }
    static let urnAllowed = PercentEncoding.AllowedBytes("-._:")
}
