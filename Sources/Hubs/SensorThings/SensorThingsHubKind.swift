import TOML

/// `kind = "sensorthings"`: OGC SensorThings API 1.1.
public struct SensorThingsHubKind: HubKind {
    public static let name = "sensorthings"
    public static let urlMeaning = "the service root with the version (http://host:8080/FROST-Server/v1.1)"
    public static let urlIsDirectory = false
    public static let ownKeys: [(key: String, elsewhere: String)] = [
        ("phenomenon_time", "phenomenon_time is a SensorThings key (how an Observation's phenomenonTime is written)"),
    ]
    public static let sampleConfig = """
        # [[hub]]
        # name = "opendata"
        # kind = "sensorthings"
        # url = "http://127.0.0.1:8000/sensorthings/v1.1"
        # retry_max = "60s"
        # phenomenon_time = "instant"    # django-ogc-sensorthings answers an interval with HTTP 500
        """

    public var auth: HubAuth
    public var phenomenonTime: SensorThingsHub.PhenomenonTimeStyle

    public init(auth: HubAuth = .none, phenomenonTime: SensorThingsHub.PhenomenonTimeStyle = .interval) {
        self.auth = auth
        self.phenomenonTime = phenomenonTime
    }

    public static func read(_ section: inout TableReader, common: HubSettings, baseDirectory: String) -> SensorThingsHubKind? {
        let style = section.string("phenomenon_time", oneOf: SensorThingsHub.PhenomenonTimeStyle.allCases.map(\.rawValue))
            .flatMap(SensorThingsHub.PhenomenonTimeStyle.init(rawValue:)) ?? .interval
        return SensorThingsHubKind(auth: HubAuth.read(from: &section, baseDirectory: baseDirectory, url: common.url), phenomenonTime: style)
    }

    public func makeHub(_ common: HubSettings, context: HubContext) -> any Hub {
        SensorThingsHub(name: common.name, serviceRoot: common.url, isPrivate: common.isPrivate, references: context.references,
                        gatewayID: context.gatewayID, auth: auth, client: HTTPClient(timeoutSeconds: Double(common.timeoutSeconds)),
                        phenomenonTime: phenomenonTime)
    }
}
