import Foundation
@testable import Hubs
import Readings
import Testing

/// The NGSI-LD bodies against the Smart Data Model examples in Fixtures/.
@Suite struct NGSILDEntityTests {
    static func example(_ name: String) throws -> [String: Any] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
        return try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    static func aggregate(_ source: String, _ kind: SensorKind, _ metric: Metric, mean: Int64, min: Int64 = 0, max: Int64 = 0, last: Int64 = 0,
                          count: Int64 = 15, rollup: (Int64, Int64)? = nil, zone: String? = nil) -> OutboundAggregate {
        // 2026-11-20T10:00:00Z, 15 minutes: the examples' window.
        let window = Window(start: RFC3339.parseMillis("2026-11-20T10:00:00Z")!, length: 900_000)
        return OutboundAggregate(aggregateID: 1, revision: 1, windowKey: "\(source)/\(metric.name)/x/PT15M", source: source, kind: kind,
                                 metric: metric, channel: nil, window: window,
                                 statistics: WindowStatistics(count: count, min: min, max: max, mean: mean, last: last, lastTime: window.end - 1),
                                 zone: zone, location: ("-3.7074", "40.4155"), rollup: rollup)
    }

    static func json(_ text: JSONText) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.serialized().utf8)) as? [String: Any])
    }

    let builder = NGSILDEntityBuilder(gatewayID: "madrid")
    /// A hub with `multi_instance = true`: min/max/last/count as datasetId instances.
    let multiInstance = NGSILDEntityBuilder(gatewayID: "madrid", multiInstance: true)

    /// `dateObserved` as the models' schemas type it: a date-time (NGSI-LD DateTime).
    static func dateObserved(_ entity: [String: Any]) -> String? {
        ((entity["dateObserved"] as? [String: Any])?["value"] as? [String: Any]).flatMap { $0["@type"] as? String == "DateTime" ? $0["@value"] as? String : nil }
    }

    /// An attribute in the default shape: one Property, the mean as its value.
    static func single(_ entity: [String: Any], _ name: String) throws -> [String: Any] {
        try #require(entity[name] as? [String: Any], "\(name) is not one Property: \(String(describing: entity[name]))")
    }

    @Test func airQualityMatchesTheSmartDataModelExample() throws {
        let reference = try Self.example("AirQualityObserved.jsonld")
        let entity = try Self.json(multiInstance.entity([
            Self.aggregate("aq-node-0042", .airQuality, .pm2_5, mean: 124, min: 98, max: 171, last: 119),
            Self.aggregate("aq-node-0042", .airQuality, .relativeHumidity, mean: 71_00),
            Self.aggregate("aq-node-0042", .airQuality, .temperature, mean: 11_80),
        ]))
        #expect(entity["id"] as? String == reference["id"] as? String)
        #expect(entity["type"] as? String == "AirQualityObserved")
        #expect(entity["@context"] as? [String] == reference["@context"] as? [String])
        #expect(Self.dateObserved(entity) == "2026-11-20T10:15:00Z")
        #expect(((entity["location"] as? [String: Any])?["value"] as? [String: Any])?["coordinates"] as? [Double] == [-3.7074, 40.4155])
        // pm25: mean as the default instance, min/max/last/count by datasetId, exactly as in the example.
        let got = try #require(entity["pm25"] as? [[String: Any]])
        let want = try #require(reference["pm25"] as? [[String: Any]])
        #expect(got.count == want.count)
        for (g, w) in zip(got, want) {
            #expect(g["datasetId"] as? String == w["datasetId"] as? String)
            #expect(g["unitCode"] as? String == w["unitCode"] as? String)
            #expect(g["observedAt"] as? String == w["observedAt"] as? String)
            #expect((g["value"] as? NSNumber)?.doubleValue == (w["value"] as? NSNumber)?.doubleValue)
        }
        // relativeHumidity is 0..1 in the model: 71.00 % → 0.71 exactly, no unitCode.
        let humidity = try #require((entity["relativeHumidity"] as? [[String: Any]])?.first)
        #expect((humidity["value"] as? NSNumber)?.doubleValue == 0.71 && humidity["unitCode"] == nil)
        #expect(((entity["temperature"] as? [[String: Any]])?.first?["unitCode"] as? String) == "CEL")
        #expect((entity["refDevice"] as? [String: Any])?["object"] as? String == "urn:ngsi-ld:Device:aq-node-0042")
        // Every attribute name the entity uses is one the model's example uses.
        for name in entity.keys where !["id", "type", "@context"].contains(name) { #expect(reference[name] != nil, "\(name)") }
    }

    /// Orion-LD 1.x refuses datasetId in batch upserts (real-hubs.md): by
    /// default the window's figures are sub-properties of the one attribute.
    @Test func theDefaultShapeCarriesNoDatasetIdAndKeepsTheFiguresWithTheValue() throws {
        let reference = try Self.example("AirQualityObserved.jsonld")
        let entity = try Self.json(builder.entity([
            Self.aggregate("aq-node-0042", .airQuality, .pm2_5, mean: 124, min: 98, max: 171, last: 119),
            Self.aggregate("aq-node-0042", .airQuality, .relativeHumidity, mean: 71_00),
            Self.aggregate("aq-node-0042", .airQuality, .temperature, mean: 11_80),
        ]))
        #expect(!builder.entity([Self.aggregate("a", .airQuality, .pm10, mean: 1)]).serialized().contains("datasetId"))
        let pm25 = try Self.single(entity, "pm25")
        let want = try #require((reference["pm25"] as? [[String: Any]])?.first { $0["datasetId"] == nil })
        #expect((pm25["value"] as? NSNumber)?.doubleValue == (want["value"] as? NSNumber)?.doubleValue)
        #expect(pm25["unitCode"] as? String == "GQ" && pm25["observedAt"] as? String == want["observedAt"] as? String)
        func sub(_ name: String) -> Double? { ((pm25[name] as? [String: Any])?["value"] as? NSNumber)?.doubleValue }
        #expect(sub("minimum") == 9.8 && sub("maximum") == 17.1 && sub("last") == 11.9 && sub("count") == 15)
        #expect((pm25["minimum"] as? [String: Any])?["type"] as? String == "Property")
        // min and max are NGSI-LD core terms: not used as sub-property names.
        #expect(pm25["min"] == nil && pm25["max"] == nil)
        let humidity = try Self.single(entity, "relativeHumidity")
        #expect((humidity["value"] as? NSNumber)?.doubleValue == 0.71 && humidity["unitCode"] == nil)
        #expect(try Self.single(entity, "temperature")["unitCode"] as? String == "CEL")
        #expect(Self.dateObserved(entity) == "2026-11-20T10:15:00Z")
    }

    @Test func parkingSpotAndOnStreetParkingFollowTheirModels() throws {
        let spot = try Self.json(builder.entity([Self.aggregate("park-sensor-0003", .parking, .occupied, mean: 1, last: 1)]))
        let spotExample = try Self.example("ParkingSpot.jsonld")
        #expect(spot["type"] as? String == "ParkingSpot")
        #expect((spot["status"] as? [String: Any])?["value"] as? String == "occupied")
        #expect(spot["@context"] as? [String] == spotExample["@context"] as? [String])
        for name in spot.keys where !["id", "type", "@context"].contains(name) { #expect(spotExample[name] != nil, "\(name)") }

        let street = try Self.json(builder.entity([Self.aggregate("zone:calle-mayor-12:parking", .parking, .occupied, mean: 1, count: 12,
                                                                  rollup: (12, 8), zone: "zone:calle-mayor-12")]))
        let streetExample = try Self.example("OnStreetParking.jsonld")
        #expect(street["type"] as? String == "OnStreetParking")
        #expect(street["id"] as? String == "urn:ngsi-ld:OnStreetParking:madrid:zone:calle-mayor-12:parking")
        #expect((street["occupiedSpotNumber"] as? [String: Any])?["value"] as? Int == 8)
        #expect((street["availableSpotNumber"] as? [String: Any])?["value"] as? Int == 4)
        #expect((street["totalSpotNumber"] as? [String: Any])?["value"] as? Int == 12)
        for name in ["occupiedSpotNumber", "availableSpotNumber", "totalSpotNumber"] { #expect(streetExample[name] != nil) }
        #expect(street["refDevice"] == nil, "a roll-up names no single device")
    }

    @Test func wasteAndIndoorEnvironmentFollowTheirModels() throws {
        let bin = try Self.json(builder.entity([Self.aggregate("bin-1187", .wasteBin, .fillLevel, mean: 83_00)]))
        let binExample = try Self.example("WasteContainer.jsonld")
        #expect(bin["type"] as? String == "WasteContainer")
        #expect((try Self.single(bin, "fillingLevel")["value"] as? NSNumber)?.doubleValue == 0.83)
        #expect(bin["@context"] as? [String] == binExample["@context"] as? [String])
        #expect(bin["dateObserved"] == nil, "the model has no dateObserved: observedAt is on fillingLevel")

        let home = try Self.json(builder.entity([Self.aggregate("zone:centro:damp", .damp, .relativeHumidity, mean: 78_00, count: 6,
                                                                rollup: (6, 468_00), zone: "zone:centro")]))
        let homeExample = try Self.example("IndoorEnvironmentObserved.jsonld")
        #expect(home["type"] as? String == "IndoorEnvironmentObserved")
        // The example writes the window as an interval; the model's schema
        // says dateObserved is a date-time, and the schema wins: the window end.
        #expect(((homeExample["dateObserved"] as? [String: Any])?["value"] as? String)?.hasSuffix("/2026-11-20T10:15:00Z") == true)
        #expect(Self.dateObserved(home) == "2026-11-20T10:15:00Z")
        let humidity = try Self.single(home, "relativeHumidity")
        #expect((humidity["value"] as? NSNumber)?.doubleValue == 0.78)
        #expect(((humidity["count"] as? [String: Any])?["value"] as? NSNumber)?.intValue == 6, "a roll-up's count is its homes")
        let instances = try #require(try Self.json(multiInstance.entity([Self.aggregate("zone:centro:damp", .damp, .relativeHumidity, mean: 78_00, count: 6,
                                                                                         rollup: (6, 468_00), zone: "zone:centro")]))["relativeHumidity"] as? [[String: Any]])
        #expect(instances.last?["datasetId"] as? String == "urn:ngsi-ld:Dataset:count:PT15M")
        #expect((instances.last?["value"] as? NSNumber)?.intValue == 6, "a roll-up's count is its homes")
    }

    @Test func aBatchNamesEachEntityOncePerRequestInWindowOrder() {
        var first = Self.aggregate("a", .airQuality, .pm10, mean: 1)
        var second = first
        second.window.start += 900_000
        let other = Self.aggregate("b", .airQuality, .pm10, mean: 1)
        first.metric = .pm2_5
        let co = Self.aggregate("a", .airQuality, .pm10, mean: 2)
        let rounds = NGSILDHub.plan([first, co, other, second], builder: builder)
        #expect(rounds.map { $0.map(\.indices) } == [[[0, 1], [2]], [[3]]])
    }

    @Test func a207RetriesBrokerFaultsAndDeadLettersRefusals() throws {
        let shape = try Data(contentsOf: try #require(Bundle.module.url(forResource: "Fixtures/batch_operation_result_207_shape.json", withExtension: nil)))
        let drafts = [NGSILDHub.Draft(entityID: "urn:ngsi-ld:AirQualityObserved:madrid:aq-node-0042", indices: [0]),
                      NGSILDHub.Draft(entityID: "urn:ngsi-ld:WasteContainer:madrid:bin-1187", indices: [1]),
                      NGSILDHub.Draft(entityID: "urn:ngsi-ld:ParkingSpot:madrid:p-1", indices: [2])]
        let results = NGSILDHub.partial(HTTPResponse(status: 207, headers: [:], body: Array(shape)), drafts)
        #expect(results[0] == .delivered(ref: drafts[0].entityID))
        guard case .rejected = results[1] else { Issue.record("BadRequestData must dead-letter: \(results[1])"); return }
        guard case .retry = results[2] else { Issue.record("an entity the 207 does not mention is retried: \(results[2])"); return }
    }

    @Test func urnPartsAreEscaped() {
        #expect(NGSILDEntityBuilder.urnPart("zone:Plaza Mayor/1") == "zone:Plaza%20Mayor%2F1")
    }
}
