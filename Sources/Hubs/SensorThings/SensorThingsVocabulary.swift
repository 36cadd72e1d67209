import Readings

/// What an ObservedProperty and a unit of measurement point at, so an
/// open-data user can look them up.
enum SensorThingsVocabulary {
    /// The property's IRI: the Smart Data Models term's where a model
    /// defines one, else the NGSI-LD default context's, as an NGSI-LD broker
    /// expands a term no context defines (`SmartDataModelTerms`).
    static func propertyDefinition(_ metric: Metric) -> String {
        SmartDataModelTerms.iri(metric.info.ngsiLDName)
    }

    /// The unit's UN/CEFACT Recommendation 20 name and its entry in the
    /// UN/CEFACT vocabulary (the code is what NGSI-LD `unitCode` carries too).
    static func unit(_ metric: Metric) -> (name: String, symbol: String, definition: String) {
        let code = metric.unitCode
        return (recommendation20Names[code] ?? code, metric.unitSymbol, "https://vocabulary.uncefact.org/UnitMeasureCode#\(code)")
    }

    /// UN/CEFACT Recommendation 20 names of the codes the metrics use.
    static let recommendation20Names: [String: String] = [
        "CEL": "degree Celsius", "P1": "percent", "59": "part per million", "61": "part per billion",
        "GQ": "microgram per cubic metre", "GP": "milligram per cubic metre", "A97": "hectopascal",
        "LUX": "lux", "MMT": "millimetre", "C62": "one", "2Z": "millivolt",
    ]
}
