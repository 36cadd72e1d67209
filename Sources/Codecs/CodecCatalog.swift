/// Every codec the gateway knows, by id: family ids (`elsys`, `cayenne-lpp`)
/// and model ids (`milesight:em310-udl`). The device registry and
/// `citygate decode --codec` name codecs by these ids; an unknown id is a
/// config error at load time, not a surprise at the first uplink.
public struct CodecCatalog: Sendable {
    private var codecs: [String: any PayloadCodec]

    public init(_ codecs: [any PayloadCodec]) {
        var table: [String: any PayloadCodec] = [:]
        for codec in codecs { table[codec.id] = codec }
        self.codecs = table
    }

    /// Adds a codec under another id (a model id that needs no model-specific
    /// layout, like `elsys:ers-co2` → the Elsys family codec).
    public mutating func alias(_ id: String, to codec: any PayloadCodec) {
        codecs[id] = codec
    }

    public func codec(_ id: String) -> (any PayloadCodec)? { codecs[id] }

    public var ids: [String] { codecs.keys.sorted() }

    /// The codecs built into this release.
    public static let builtIn: CodecCatalog = {
        var catalog = CodecCatalog([
            CayenneLPPCodec(), ElsysCodec(), MilesightCodec(), DraginoLHT65Codec(), BoschTPS110Codec(), DecentlabDLPMCodec(),
            DraginoDistanceCodec(model: .ldds75), DraginoDistanceCodec(model: .dds75lb),
            NwaveParkingCodec(model: .nps405), NwaveParkingCodec(model: .nps310sm),
        ])
        for model in MilesightCodec.Model.allCases {
            let codec = MilesightCodec(model: model)
            catalog.alias(codec.id, to: codec)
        }
        for model in ["ers", "ers-co2", "ers-eye", "elt-ultrasonic"] {
            catalog.alias("elsys:\(model)", to: ElsysCodec())
        }
        catalog.alias("dragino:lht65", to: DraginoLHT65Codec())
        catalog.alias("dragino:lht65n", to: DraginoLHT65Codec())
        catalog.alias("bosch:tps110", to: BoschTPS110Codec())
        catalog.alias("decentlab:dl-pm", to: DecentlabDLPMCodec())
        catalog.alias("dragino:ldds75", to: DraginoDistanceCodec(model: .ldds75))
        catalog.alias("dragino:dds75-lb", to: DraginoDistanceCodec(model: .dds75lb))
        catalog.alias("nwave:nps405", to: NwaveParkingCodec(model: .nps405))
        catalog.alias("nwave:nps310sm", to: NwaveParkingCodec(model: .nps310sm))
        return catalog
    }()
}
