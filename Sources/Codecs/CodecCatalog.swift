/// The built-in codecs, one line each: the codec (its `id` is the canonical
/// id) and the other ids it answers to, so every registry written so far
/// still loads (`vendor:model` names beside the family ids). A new codec is
/// one file under `Devices/` and one line here (and one simulator encoder).
public enum CodecTable {
    public struct Entry: Sendable {
        public let codec: any PayloadCodec
        public let aliases: [String]
        init(_ codec: any PayloadCodec, aliases: [String] = []) {
            self.codec = codec
            self.aliases = aliases
        }
    }

    public static let builtIn: [Entry] = [
        Entry(CayenneLPPCodec()),
        Entry(ElsysCodec(), aliases: ["elsys:ers", "elsys:ers-co2", "elsys:ers-eye", "elsys:elt-ultrasonic"]),
        Entry(MilesightCodec()),
        Entry(DraginoLHT65Codec(), aliases: ["dragino:lht65", "dragino:lht65n"]),
        Entry(BoschTPS110Codec(), aliases: ["bosch:tps110"]),
        Entry(DecentlabDLPMCodec(), aliases: ["decentlab:dl-pm"]),
        Entry(DraginoDistanceCodec(model: .ldds75), aliases: ["dragino:ldds75"]),
        Entry(DraginoDistanceCodec(model: .dds75lb), aliases: ["dragino:dds75-lb"]),
        Entry(NwaveParkingCodec(model: .nps405), aliases: ["nwave:nps405"]),
        Entry(NwaveParkingCodec(model: .nps310sm), aliases: ["nwave:nps310sm"]),
    ] + MilesightCodec.Model.allCases.map { Entry(MilesightCodec(model: $0)) }
}

/// Every codec the gateway knows, by id: family ids (`elsys`, `cayenne-lpp`)
/// and model ids (`milesight:em310-udl`). The device registry and
/// `citygate decode --codec` name codecs by these ids; an unknown id is a
/// config error at load time, not a surprise at the first uplink.
public struct CodecCatalog: Sendable {
    private var codecs: [String: any PayloadCodec]

    /// The canonical ids, for listings (aliases are not listed).
    private var canonical: Set<String>

    public init(_ entries: [CodecTable.Entry]) {
        codecs = [:]
        canonical = []
        for entry in entries { add(entry.codec, aliases: entry.aliases) }
    }

    /// Adds a codec under its id and its aliases (a layout file's codec).
    public mutating func add(_ codec: any PayloadCodec, aliases: [String] = []) {
        codecs[codec.id] = codec
        canonical.insert(codec.id)
        for alias in aliases { codecs[alias] = codec }
    }

    public func codec(_ id: String) -> (any PayloadCodec)? { codecs[id] }

    /// Every canonical id, sorted.
    public var ids: [String] { canonical.sorted() }

    /// The codecs built into this release.
    public static let builtIn = CodecCatalog(CodecTable.builtIn)
}
