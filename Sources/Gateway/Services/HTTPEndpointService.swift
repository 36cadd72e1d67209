import Foundation
import Logging
import ServiceLifecycle

/// `/metrics` (Prometheus text) and `/health` on a loopback port. It opens
/// only after ingest has subscribed (or given up waiting), so a client that
/// sees it answer may start publishing.
final class HTTPEndpointService: Service, Sendable {
    let endpoint: HTTPEndpoint
    let host: String
    let port: Int
    let logger: Logger

    init(host: String, port: Int, metrics: GatewayMetrics, health: @escaping @Sendable () -> (ready: Bool, detail: String), logger: Logger) {
        self.host = host
        self.port = port
        self.logger = logger
        endpoint = HTTPEndpoint { path in
            switch path {
            case "/metrics":
                return .init(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: metrics.exposition())
            case "/health", "/health/live":
                return .init(status: 200, body: Array("ok\n".utf8))
            case "/health/ready":
                let state = health()
                return .init(status: state.ready ? 200 : 503, body: Array("\(state.detail)\n".utf8))
            default:
                return .init(status: 404, body: Array("not found: try /metrics, /health, /health/ready\n".utf8))
            }
        }
    }

    /// Binds now; called by the gateway once ingest is subscribed.
    func open() throws {
        try endpoint.start(host: host, port: port)
        logger.info("http listening", metadata: ["address": "\(host):\(endpoint.boundPort)", "paths": "/metrics,/health,/health/ready"])
    }

    func run() async throws {
        try? await gracefulShutdown()
        endpoint.stop()
    }
}
