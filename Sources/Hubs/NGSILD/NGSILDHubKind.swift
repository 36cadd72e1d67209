import TOML

/// `kind = "ngsi-ld"`: an NGSI-LD context broker (Orion-LD, Scorpio, Stellio).
public struct NGSILDHubKind: HubKind {
    public static let name = "ngsi-ld"
    public static let urlMeaning = "the broker's base URL (http://host:1026)"
    public static let urlIsDirectory = false
    public static let ownKeys: [(key: String, elsewhere: String)] = ["tenant", "context_environment", "context_waste", "context_parking", "context_core", "multi_instance"].map { ($0, "only an NGSI-LD hub takes \($0)") }
    public static let sampleConfig = """
        # [[hub]]
        # name = "context-broker"
        # kind = "ngsi-ld"
        # url = "http://127.0.0.1:1026"
        # auth = "oauth2"
        # token_url = "http://127.0.0.1:8080/realms/city/protocol/openid-connect/token"
        # client_id = "citygate"
        # client_secret_credential = "ngsi-client-secret"
        """

    public var auth: HubAuth
    /// `NGSILD-Tenant`; nil = the default tenant.
    public var tenant: String?
    /// @context URLs by domain (defaults: the Smart Data Models on GitHub).
    public var contexts: NGSILDContexts
    /// min/max/last/count as `datasetId` instances (brokers that take them in
    /// batch upserts; Orion-LD 1.x does not) instead of sub-properties.
    public var multiInstance: Bool

    public init(auth: HubAuth = .none, tenant: String? = nil, contexts: NGSILDContexts = .init(), multiInstance: Bool = false) {
        self.auth = auth
        self.tenant = tenant
        self.contexts = contexts
        self.multiInstance = multiInstance
    }

    public static func read(_ section: inout TableReader, common: HubSettings, baseDirectory: String) -> NGSILDHubKind? {
        var kind = NGSILDHubKind(auth: HubAuth.read(from: &section, baseDirectory: baseDirectory, url: common.url), tenant: section.string("tenant"))
        if let url = section.string("context_environment") { kind.contexts.environment = url }
        if let url = section.string("context_waste") { kind.contexts.wasteManagement = url }
        if let url = section.string("context_parking") { kind.contexts.parking = url }
        if let url = section.string("context_core") { kind.contexts.core = url }
        kind.multiInstance = section.bool("multi_instance") ?? false
        return kind
    }

    public func makeHub(_ common: HubSettings, context: HubContext) -> any Hub {
        NGSILDHub(name: common.name, baseURL: common.url, isPrivate: common.isPrivate, tenant: tenant, gatewayID: context.gatewayID,
                  contexts: contexts, multiInstance: multiInstance, auth: auth, client: HTTPClient(timeoutSeconds: Double(common.timeoutSeconds)))
    }
}
