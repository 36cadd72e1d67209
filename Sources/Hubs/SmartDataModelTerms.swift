import Readings

/// The IRIs Smart Data Models terms expand to: the IRIs of the models'
/// JSON-LD contexts (copied under Tests/HubsTests/Fixtures/contexts, which a
/// test checks this table against). A term no model defines expands, in an
/// NGSI-LD broker, to the core context's default vocabulary.
enum SmartDataModelTerms {
    /// Which Smart Data Models subject defines a term (contexts of 2025-2026).
    static let subject: [String: String] = [
        "temperature": "Environment", "relativeHumidity": "Environment", "co2": "Environment",
        "pm1": "Environment", "pm25": "Environment", "pm10": "Environment", "no2": "Environment",
        "atmosphericPressure": "Environment", "illuminance": "Environment", "batteryLevel": "Environment",
        "distance": "Device", "fillingLevel": "WasteManagement",
    ]

    static func iri(_ term: String) -> String {
        if let model = subject[term] { return "https://smartdatamodels.org/dataModel.\(model)/\(term)" }
        return "https://uri.etsi.org/ngsi-ld/default-context/\(term)"
    }
}
