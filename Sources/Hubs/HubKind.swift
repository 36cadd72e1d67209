import TOML

/// One kind of hub: its name in `[[hub]] kind = ...`, its own config keys,
/// its sample config, and how to build it. Each kind lives in its folder
/// (`NGSILD/`, `SensorThings/`, `File/`) and is listed once in
/// `HubKinds.all`: the config reader, the factory and `citygate run --hub`'s
/// help all read that table, so adding a kind is a folder and a line.
public protocol HubKind: Sendable, Equatable {
    /// `kind = "..."` in `[[hub]]` and `--hub KIND=URL`.
    static var name: String { get }
    /// What `url` names for this kind, for the config's documentation.
    static var urlMeaning: String { get }
    /// True: `url` is a directory (resolved against the config file's
    /// directory); false: an http(s) URL.
    static var urlIsDirectory: Bool { get }
    /// The kind's commented `[[hub]]` example, as `Config/citygate.toml`
    /// shows it (a test keeps the two the same).
    static var sampleConfig: String { get }
    /// Keys only this kind takes, each with what another kind's `[[hub]]`
    /// is told when it has one (instead of a bare "unknown key").
    static var ownKeys: [(key: String, elsewhere: String)] { get }

    /// Reads the kind's own keys from its `[[hub]]` table (the common keys
    /// are read already). Problems are recorded on `section`; nil when the
    /// kind cannot be built from what is there.
    static func read(_ section: inout TableReader, common: HubSettings, baseDirectory: String) -> Self?

    /// The hub, ready to deliver.
    func makeHub(_ common: HubSettings, context: HubContext) -> any Hub
}

/// Keys every `[[hub]]` has, whatever its kind.
public struct HubSettings: Sendable, Equatable {
    public var name: String
    /// Service root (SensorThings, with the version), broker base URL
    /// (NGSI-LD) or a directory (file).
    public var url: String
    public var isPrivate: Bool
    public var batchSize: Int
    public var timeoutSeconds: Int
    /// The longest pause between delivery attempts (backoff cap).
    public var retryMaxMillis: Int64
    /// A batch that is not full waits at most this long for more windows.
    public var batchWaitMillis: Int64
    /// Sends of one aggregate the hub answered with a refusal of that row
    /// (`DeliveryResult.refused`) before it is dead-lettered.
    public var maxRowAttempts: Int

    public init(name: String, url: String, isPrivate: Bool = false, batchSize: Int = 500, timeoutSeconds: Int = 10,
                retryMaxMillis: Int64 = 60_000, batchWaitMillis: Int64 = 0, maxRowAttempts: Int = 5) {
        self.maxRowAttempts = maxRowAttempts
        self.name = name
        self.url = url
        self.isPrivate = isPrivate
        self.batchSize = batchSize
        self.timeoutSeconds = timeoutSeconds
        self.retryMaxMillis = retryMaxMillis
        self.batchWaitMillis = batchWaitMillis
    }
}

/// What the gateway gives a hub when it builds it.
public struct HubContext: Sendable {
    /// The gateway's id (`[gateway] id`), in entity ids and Thing names.
    public var gatewayID: String
    /// Where the hub remembers the ids it was given.
    public var references: any HubReferenceStore

    public init(gatewayID: String, references: any HubReferenceStore) {
        self.gatewayID = gatewayID
        self.references = references
    }
}

/// An output that keeps files beside the database: they count against the
/// store's size bound and are pruned by their own retention.
public protocol LocalFileOutput: Hub {
    /// Bytes the output's files take.
    func storedBytes() -> Int64
    /// Deletes files past the output's retention; returns how many.
    func pruneOldFiles(now: Int64) -> Int
}
