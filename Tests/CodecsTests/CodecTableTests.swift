import Codecs
import Testing

/// The codec table: one line per codec, one canonical id each, and every id
/// a registry, the README or a scenario uses today still resolving.
@Suite struct CodecTableTests {
    /// The ids in use when the table was introduced (Config/, README, tests, scenarios, decode --help).
    static let idsInUse = [
        "cayenne-lpp", "elsys", "milesight", "decentlab-dl-pm", "dragino-lht65", "dragino-ldds75", "dragino-dds75-lb",
        "bosch-tps110", "nwave-nps405", "nwave-nps310sm",
        "elsys:ers", "elsys:ers-co2", "elsys:ers-eye", "elsys:elt-ultrasonic", "dragino:lht65", "dragino:lht65n", "bosch:tps110",
        "decentlab:dl-pm", "dragino:ldds75", "dragino:dds75-lb", "nwave:nps405", "nwave:nps310sm",
        "milesight:am307", "milesight:am319", "milesight:em300-th", "milesight:em320-th", "milesight:em500-co2",
        "milesight:em310-udl", "milesight:em400-udl", "milesight:em500-udl", "milesight:ws201",
    ]

    @Test(arguments: idsInUse)
    func everyIDInUseResolves(id: String) {
        #expect(CodecCatalog.builtIn.codec(id) != nil, "\(id) no longer resolves")
    }

    @Test func eachCodecHasOneCanonicalIDAndNoAliasShadowsOne() {
        let canonical = CodecTable.builtIn.map(\.codec.id)
        #expect(Set(canonical).count == canonical.count, "a canonical id is listed twice: \(canonical)")
        let aliases = CodecTable.builtIn.flatMap(\.aliases)
        #expect(Set(aliases).count == aliases.count, "an alias is listed twice")
        #expect(Set(aliases).isDisjoint(with: canonical), "an alias shadows a canonical id")
        #expect(CodecCatalog.builtIn.ids == canonical.sorted(), "listings show canonical ids only")
        for entry in CodecTable.builtIn {
            for alias in entry.aliases { #expect(CodecCatalog.builtIn.codec(alias)?.id == entry.codec.id, "\(alias)") }
        }
    }
}
