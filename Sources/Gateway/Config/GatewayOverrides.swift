import Hubs
import MQTT
import Readings

/// Command-line overrides: flags win over the config file.
public struct GatewayOverrides: Sendable {
    public var broker: String?
    public var database: String?
    public var httpListen: String?
    public var logLevel: String?
    /// Replaces every window length (a demo or a test wants seconds, not hours).
    public var windowMillis: Int64?
    /// Extra hubs: (kind, url), `--hub KIND=URL`.
    public var hubs: [(kind: String, url: String)] = []

    public init() {}

    /// Applies the overrides; returns the errors for values that do not parse.
    public func apply(to config: inout GatewayConfig) -> [String] {
        var errors: [String] = []
        if let broker {
            if let parsed = MQTTOptions.parseBrokerURL(broker) {
                config.brokerHost = parsed.host; config.brokerPort = parsed.port
                if parsed.tls && config.tls == nil { config.tls = MQTTTLS() }
            } else { errors.append("--broker: '\(broker)' is not mqtt://HOST[:PORT] or mqtts://HOST[:PORT]") }
        }
        if let database { config.databasePath = database }
        if let httpListen {
            if httpListen.isEmpty || GatewayConfig.parseListen(httpListen) != nil { config.httpListen = httpListen.isEmpty ? nil : httpListen }
            else { errors.append("--http-listen: '\(httpListen)' is not HOST:PORT") }
            if let problem = config.httpAuthProblem { errors.append("--http-listen: \(problem)") }
        }
        if let logLevel {
            if LogLevelName.all.contains(logLevel) { config.logLevel = logLevel } else { errors.append("--log-level: '\(logLevel)' is not one of \(LogLevelName.all.joined(separator: ", "))") }
        }
        if let windowMillis {
            for kind in SensorKind.allCases { config.windows[kind] = windowMillis }
            // Grace scales with the window: a 10 s demo window should not wait a minute.
            config.graceMillis = min(config.graceMillis, max(windowMillis / 5, 200))
        }
        for (kind, url) in hubs {
            var name = kind
            var suffix = 2
            while config.hubs.contains(where: { $0.name == name }) { name = "\(kind)-\(suffix)"; suffix += 1 }
            switch HubConfig.fromCommandLine(kind: kind, url: url, name: name) {
            case let .success(hub): config.hubs.append(hub)
            case let .failure(problems): errors += problems.errors.map { "--hub \(kind)=\(url): \($0.reason)" }
            }
        }
        return errors
    }
}
