import FoundationEssentials
import TOML

/// The registration table of hub kinds: one line per kind.
public enum HubKinds {
    public static let all: [any HubKind.Type] = [
        NGSILDHubKind.self,
        SensorThingsHubKind.self,
        FileHubKind.self,
    ]

    public static func named(_ name: String) -> (any HubKind.Type)? { all.first { $0.name == name } }

    /// Each kind with what its `url` names, for `--hub`'s help.
    public static var urlHelp: String {
        all.map { "\($0.name): \($0.urlMeaning)" }.joined(separator: "; ")
    }

    /// "ngsi-ld, sensorthings or file", for help and errors.
    public static var namesText: String {
        let names = all.map { $0.name }
        guard names.count > 1 else { return names.joined() }
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}

/// One `[[hub]]` as configured: the common keys and its kind's own.
public struct HubConfig: Sendable, Equatable {
    public var settings: HubSettings
    public var kind: any HubKind

    public init(settings: HubSettings, kind: any HubKind) {
        self.settings = settings
        self.kind = kind
    }

    public var name: String { settings.name }
    public var kindName: String { type(of: kind).name }

    public func makeHub(context: HubContext) -> any Hub { kind.makeHub(settings, context: context) }

    public static func == (a: HubConfig, b: HubConfig) -> Bool {
        a.settings == b.settings && a.kind.isEqual(to: b.kind)
    }

    /// Reads one `[[hub]]` table: the common keys, then its kind's. Nil
    /// (with the problems recorded on `section`) when it cannot be used.
    public static func read(_ section: inout TableReader, baseDirectory: String) -> HubConfig? {
        let name = section.string("name")
        let kindName = section.string("kind", oneOf: HubKinds.all.map { $0.name })
        let url = section.string("url")
        var common = HubSettings(name: name ?? "", url: url ?? "")
        common.isPrivate = section.bool("private") ?? false
        common.batchSize = Int(section.integer("batch_size", in: 1...10_000) ?? 500)
        common.timeoutSeconds = Int(section.integer("timeout_seconds", in: 1...300) ?? 10)
        common.retryMaxMillis = section.duration("retry_max", in: 100...3_600_000) ?? 60_000
        common.maxRowAttempts = Int(section.integer("max_row_attempts", in: 1...1000) ?? 5)
        common.batchWaitMillis = section.duration("batch_wait", in: 0...3_600_000) ?? 0
        if name == nil { section.fail("name", "required") }
        if kindName == nil && section.table["kind"] == nil { section.fail("kind", "required (\(HubKinds.namesText))") }
        if url == nil { section.fail("url", "required") }
        guard let kindName, let kindType = HubKinds.named(kindName) else { return nil }
        if let url {
            if kindType.urlIsDirectory { common.url = TableReader.resolve(url, against: baseDirectory) }
            else if !(url.hasPrefix("http://") || url.hasPrefix("https://")) { section.fail("url", "'\(url)' is not an http(s) URL") }
        }
        for other in HubKinds.all where other.name != kindType.name {
            for own in other.ownKeys where section.table[own.key] != nil && !kindType.ownKeys.contains(where: { $0.key == own.key }) {
                section.ignore(own.key)
                section.fail(own.key, own.elsewhere)
            }
        }
        let kind = kindType.read(&section, common: common, baseDirectory: baseDirectory)
        guard name != nil, url != nil, let kind else { return nil }
        return HubConfig(settings: common, kind: kind)
    }

    /// `--hub KIND=URL`: a hub read exactly as a `[[hub]]` table holding
    /// only `name`, `kind` and `url` would be.
    public static func fromCommandLine(kind: String, url: String, name: String) -> Result<HubConfig, ConfigErrors> {
        let table = TOMLTable(entries: [("name", .string(name)), ("kind", .string(kind)), ("url", .string(url))])
        let issues = ConfigIssues()
        var section = TableReader(table: table, path: "--hub", file: "command line", issues: issues)
        let config = read(&section, baseDirectory: FileManager.default.currentDirectoryPath)
        section.finish()
        if let config, issues.errors.isEmpty { return .success(config) }
        return .failure(ConfigErrors(errors: issues.errors))
    }
}

extension HubKind {
    /// Equality across kinds: the same kind with the same settings.
    func isEqual(to other: any HubKind) -> Bool { (other as? Self) == self }
}
