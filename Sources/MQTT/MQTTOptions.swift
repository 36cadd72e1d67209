import CMosquitto
import FoundationEssentials
import Glibc

/// Where and how to connect. Defaults suit a private broker on loopback.
public struct MQTTOptions: Sendable {
    public var host: String
    public var port: Int
    /// A fixed client id with `cleanSession = false` gives a persistent
    /// session: the broker queues QoS 1 messages while the client is away.
    public var clientID: String?
    public var cleanSession: Bool
    public var keepAliveSeconds: Int
    public var username: String?
    public var password: String?
    /// Publishes in flight before libmosquitto queues locally (0 = unlimited).
    public var maxInflight: Int
    /// Reconnect backoff: doubles from the minimum up to the maximum.
    public var reconnectMinSeconds: Int
    public var reconnectMaxSeconds: Int
    /// 4 = MQTT 3.1.1, 5 = MQTT 5.
    public var protocolVersion: Int = 4
    /// MQTT 5: how long the broker keeps the session (and queues QoS 1
    /// messages) after a disconnect. libmosquitto sends none by default,
    /// which in MQTT 5 means the session ends with the connection.
    public var sessionExpirySeconds: UInt32 = 0
    public var tls: MQTTTLS?

    public init(host: String = "127.0.0.1", port: Int = 1883, clientID: String? = nil, cleanSession: Bool = true,
                keepAliveSeconds: Int = 30, username: String? = nil, password: String? = nil, maxInflight: Int = 20,
                reconnectMinSeconds: Int = 1, reconnectMaxSeconds: Int = 30) {
        self.host = host
        self.port = port
        self.clientID = clientID
        self.cleanSession = cleanSession
        self.keepAliveSeconds = keepAliveSeconds
        self.username = username
        self.password = password
        self.maxInflight = maxInflight
        self.reconnectMinSeconds = reconnectMinSeconds
        self.reconnectMaxSeconds = reconnectMaxSeconds
    }

    /// Parses `mqtt://host:port` (port 1883 when absent).
    public static func parseURL(_ text: String) -> (host: String, port: Int)? {
        guard let parsed = parseBrokerURL(text), !parsed.tls else { return nil }
        return (parsed.host, parsed.port)
    }

    /// Parses `mqtt://host[:port]` (1883) or `mqtts://host[:port]` (TLS, 8883).
    public static func parseBrokerURL(_ text: String) -> (host: String, port: Int, tls: Bool)? {
        let tls = text.hasPrefix("mqtts://")
        guard tls || text.hasPrefix("mqtt://") else { return nil }
        let rest = text.dropFirst(tls ? "mqtts://".count : "mqtt://".count).split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        guard !rest.isEmpty else { return nil }
        if let colon = rest.lastIndex(of: ":") {
            let host = String(rest[..<colon])
            guard !host.isEmpty, let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else { return nil }
            return (host, port, tls)
        }
        return (rest, tls ? 8883 : 1883, tls)
    }
}

/// TLS to the broker. The broker's certificate is verified against `caFile`
/// (or the certificates in `caPath`, the system's by default) and its host
/// name, unless `verifyPeer` is false.
public struct MQTTTLS: Sendable, Equatable {
    public var caFile: String?
    public var caPath: String?
    /// Client certificate and key, for brokers that authenticate clients by certificate.
    public var certFile: String?
    public var keyFile: String?
    public var verifyPeer: Bool

    public init(caFile: String? = nil, caPath: String? = nil, certFile: String? = nil, keyFile: String? = nil, verifyPeer: Bool = true) {
        self.caFile = caFile
        self.caPath = caPath ?? (caFile == nil ? "/etc/ssl/certs" : nil)
        self.certFile = certFile
        self.keyFile = keyFile
        self.verifyPeer = verifyPeer
    }
}

/// A libmosquitto failure, with the library's own text.
public struct MQTTError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let operation: String
    /// With MOSQ_ERR_ERRNO: the system error, read at the failing call.
    /// (`mosquitto_strerror` reads `errno` when the text is made, by which
    /// time it says "Success" or something unrelated.)
    public let systemError: Int32?

    public init(code: Int32, operation: String, systemError: Int32? = nil) {
        self.code = code
        self.operation = operation
        self.systemError = systemError
    }

    public var description: String {
        if code == MOSQ_ERR_ERRNO.rawValue, let systemError {
            return "\(operation): \(String(cString: strerror(systemError))) (errno \(systemError))"
        }
        return "\(operation): \(String(cString: mosquitto_strerror(code))) (\(code))"
    }
}
