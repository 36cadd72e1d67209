import TOML

/// `kind = "file"`: NDJSON and CSV day files in a directory.
public struct FileHubKind: HubKind {
    public static let name = "file"
    public static let urlMeaning = "a directory (relative to this file)"
    public static let urlIsDirectory = true
    public static let ownKeys: [(key: String, elsewhere: String)] = [("retention_days", "only a file output has a retention")]
    public static let sampleConfig = """
        # [[hub]]
        # name = "housing-office"        # gets per-home damp values
        # kind = "file"
        # url = "/var/lib/citygate/housing"
        # private = true
        # retention_days = 30
        """

    /// Day files older than this many days are deleted; nil keeps them.
    public var retentionDays: Int?

    public init(retentionDays: Int? = nil) { self.retentionDays = retentionDays }

    public static func read(_ section: inout TableReader, common: HubSettings, baseDirectory: String) -> FileHubKind? {
        if section.string("auth") != nil { section.fail("auth", "a file output takes no auth") }
        return FileHubKind(retentionDays: section.integer("retention_days", in: 1...36_500).map { Int($0) })
    }

    public func makeHub(_ common: HubSettings, context: HubContext) -> any Hub {
        FileHub(name: common.name, directory: common.url, isPrivate: common.isPrivate, retentionDays: retentionDays)
    }
}

extension FileHub: LocalFileOutput {
    public func storedBytes() -> Int64 { dayFiles().reduce(0) { $0 + $1.bytes } }
}
