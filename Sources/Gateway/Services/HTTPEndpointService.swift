import Dispatch
import FoundationEssentials
import Hummingbird
import Logging
import ServiceLifecycle

/// The gateway's HTTP listener (Hummingbird on SwiftNIO): the status page
/// `/`, `/api/status`, Prometheus `/metrics`, `/health` and `/health/ready`
/// (`HTTPRoutes`). It runs as a service of the group, which starts after
/// ingest has subscribed (or given up waiting), so a client that sees it
/// answer may start publishing. Each connection is its own NIO channel: an
/// idle client or one that never reads holds up no other, and idle
/// connections are closed after 30 s.
final class HTTPEndpointService: Service, Sendable {
    let routes: HTTPRoutes
    let host: String
    let port: Int
    let logger: Logger
    /// Status pages read SQLite: that work runs here, not on the cooperative pool.
    private static let blockingWork = DispatchQueue(label: "citygate-http-status", attributes: .concurrent)

    init(host: String, port: Int, routes: HTTPRoutes, logger: Logger) {
        self.host = host
        self.port = port
        self.routes = routes
        self.logger = logger
    }

    func run() async throws {
        let routes = self.routes
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            let path = request.uri.path
            let query = request.uri.query.map(HTTPRoutes.parameters) ?? [:]
            let authorization = request.headers[.authorization]
            let reply = await withCheckedContinuation { continuation in
                Self.blockingWork.async { continuation.resume(returning: routes.reply(path: path, query: query, authorization: authorization)) }
            }
            var headers: HTTPFields = [.contentType: reply.contentType, .cacheControl: "no-store"]
            if let challenge = reply.wwwAuthenticate { headers[.wwwAuthenticate] = challenge }
            let body = request.method == .head ? ByteBuffer() : ByteBuffer(bytes: reply.body)
            return Response(status: .init(code: reply.status), headers: headers, body: .init(byteBuffer: body))
        }
        let logger = self.logger
        let (host, port) = (self.host, self.port)
        let app = Application(
            responder: responder,
            server: .http1ClosingHTTP10(configuration: .init(idleTimeout: .seconds(30))),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { _ in
                logger.info("http listening", metadata: ["address": "\(host):\(port)", "paths": "/,/api/status,/metrics,/health,/health/ready"])
            },
            logger: Logger(label: "citygate.http"))
        // A service of the gateway's group: its graceful shutdown stops the
        // server. A listener that cannot start (the port taken, an address
        // not on this host) is said here, and ends the gateway (see GatewayApp).
        do {
            try await app.run()
        } catch {
            logger.critical("cannot serve HTTP", metadata: ["address": "\(host):\(port)", "error": "\(error)"])
            throw error
        }
    }
}
