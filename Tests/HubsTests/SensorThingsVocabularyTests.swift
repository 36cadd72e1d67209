import Foundation
@testable import Hubs
import Readings
import Testing

/// What the SensorThings hub points open-data users at, and how it writes ids.
@Suite struct SensorThingsVocabularyTests {
    /// Every term the Smart Data Models contexts define, with its IRI.
    static func contextTerms() throws -> [String: String] {
        var terms: [String: String] = [:]
        for subject in ["Environment", "WasteManagement", "Parking", "Device"] {
            let url = try #require(Bundle.module.url(forResource: "Fixtures/contexts/sdm-\(subject).context.jsonld", withExtension: nil))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
            for (term, value) in try #require(object["@context"] as? [String: Any]) where terms[term] == nil {
                if let iri = value as? String { terms[term] = iri }
                if let iri = (value as? [String: Any])?["@id"] as? String { terms[term] = iri }
            }
        }
        return terms
    }

    @Test func observedPropertiesAreTheSmartDataModelsIRIsWhereAModelHasTheTerm() throws {
        let terms = try Self.contextTerms()
        for metric in Metric.all {
            let definition = SensorThingsVocabulary.propertyDefinition(metric)
            if let iri = terms[metric.info.ngsiLDName] {
                #expect(definition == iri, "\(metric.name): \(definition), the context says \(iri)")
            } else {
                // No model defines it: the term as an NGSI-LD broker expands it.
                #expect(definition == "https://uri.etsi.org/ngsi-ld/default-context/\(metric.info.ngsiLDName)", "\(metric.name)")
            }
            #expect(!definition.contains("invalid"))
        }
    }

    @Test func everyUnitHasItsRecommendation20NameSymbolAndDefinition() {
        for metric in Metric.all {
            let unit = SensorThingsVocabulary.unit(metric)
            #expect(unit.name != metric.unitCode, "\(metric.name): no name for \(metric.unitCode)")
            #expect(unit.symbol == metric.unitSymbol)
            #expect(unit.definition == "https://vocabulary.uncefact.org/UnitMeasureCode#\(metric.unitCode)")
        }
    }

    @Test func idsGoBackWithTheJSONTypeTheServerGave() {
        // FROST: integers by default.
        #expect(SensorThingsID.literal(fromLocation: "http://h/FROST-Server/v1.1/Things(42)") == "42")
        #expect(SensorThingsID.json("42") == .integer(42))
        #expect(SensorThingsID.literal("42") == "42")
        // A string id, even one of digits, stays a string.
        #expect(SensorThingsID.literal(fromLocation: "http://h/v1.1/Things('42')") == "'42'")
        #expect(SensorThingsID.json("'42'") == .string("42"))
        #expect(SensorThingsID.literal(fromJSON: .string("0192-ab")) == "'0192-ab'")
        #expect(SensorThingsID.literal(fromJSON: .integer(7)) == "7")
        // Remembered by an earlier version: a bare UUID is a string.
        #expect(SensorThingsID.json("0192f3a4-aaaa-bbbb-cccc-000000000001") == .string("0192f3a4-aaaa-bbbb-cccc-000000000001"))
        #expect(SensorThingsID.literal("0192f3a4-aaaa") == "'0192f3a4-aaaa'")
        // A quote in a string id is doubled, as OData writes it.
        #expect(SensorThingsID.literal(fromJSON: .string("it's")) == "'it''s'")
        #expect(SensorThingsID.json("'it''s'") == .string("it's"))
        #expect(SensorThingsID.literal(fromLocation: "http://h/v1.1/Things(abc)") == nil)
    }

    @Test func aNameWithQueryCharactersStaysOneValue() {
        let query = SensorThingsID.query([("$filter", "name eq \(SensorThingsID.stringLiteral("bins & bays #3+"))")])
        #expect(query == "$filter=name%20eq%20'bins%20%26%20bays%20%233%2B'")
    }
}
