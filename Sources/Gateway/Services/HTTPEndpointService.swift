import Foundation
import Logging
import ServiceLifecycle

/// `/metrics` (Prometheus text), `/health`, `/api/status` (JSON) and the
/// status page `/` on a loopback port. It opens only after ingest has
/// subscribed (or given up waiting), so a client that sees it answer may
/// start publishing. Nothing served changes state.
final class HTTPEndpointService: Service, Sendable {
    let endpoint: HTTPEndpoint
    let host: String
    let port: Int
    let logger: Logger

    init(host: String, port: Int, metrics: GatewayMetrics, health: @escaping @Sendable () -> (ready: Bool, detail: String),
         status: @escaping @Sendable () throws -> LiveStatus, logger: Logger) {
        self.host = host
        self.port = port
        self.logger = logger
        endpoint = HTTPEndpoint { [logger] path, query in
            switch path {
            case "/", "/api/status":
                do {
                    let live = try status()
                    if path == "/" {
                        return .init(status: 200, contentType: "text/html; charset=utf-8", body: Array(StatusPage.html(live, query: query).utf8))
                    }
                    return .init(status: 200, contentType: "application/json", body: Array(live.json.serialized().utf8))
                } catch {
                    logger.warning("status unavailable", metadata: ["error": "\(error)"])
                    return .init(status: 500, body: Array("status unavailable: \(error)\n".utf8))
                }
            case "/metrics":
                return .init(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: metrics.exposition())
            case "/health", "/health/live":
                return .init(status: 200, body: Array("ok\n".utf8))
            case "/health/ready":
                let state = health()
                return .init(status: state.ready ? 200 : 503, body: Array("\(state.detail)\n".utf8))
            default:
                return .init(status: 404, body: Array("not found: try /, /api/status, /metrics, /health, /health/ready\n".utf8))
            }
        }
    }

    /// Binds now; called by the gateway once ingest is subscribed.
    func open() throws {
        try endpoint.start(host: host, port: port)
        logger.info("http listening", metadata: ["address": "\(host):\(endpoint.boundPort)", "paths": "/,/api/status,/metrics,/health,/health/ready"])
    }

    func run() async throws {
        try? await gracefulShutdown()
        endpoint.stop()
    }
}
