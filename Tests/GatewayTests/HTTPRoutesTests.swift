import Foundation
@testable import Gateway
import Testing

/// What the listener answers, without a socket: the token guards the page,
/// `/api/status` and `/metrics`; `/health` stays open; a listener beyond
/// loopback without a token is a config error unless allowed on purpose.
@Suite struct HTTPRoutesTests {
    struct NoStatus: Error {}

    static func routes(token: String?) throws -> HTTPRoutes {
        var file: String?
        if let token {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("citygate-token-\(UUID().uuidString.prefix(8))").path
            try "\(token)\n".write(toFile: path, atomically: true, encoding: .utf8)
            file = path
        }
        return HTTPRoutes(metrics: GatewayMetrics(), health: { (true, "ready: broker connected") }, status: { throw NoStatus() }, tokenFile: file)
    }

    @Test func withoutATokenEverythingAnswers() throws {
        let routes = try Self.routes(token: nil)
        #expect(routes.reply(path: "/metrics", query: [:], authorization: nil).status == 200)
        #expect(routes.reply(path: "/health/ready", query: [:], authorization: nil).status == 200)
        // The status could not be read: a 500 that says so, not a crash.
        let status = routes.reply(path: "/api/status", query: [:], authorization: nil)
        #expect(status.status == 500 && String(decoding: status.body, as: UTF8.self).contains("status unavailable"))
        #expect(routes.reply(path: "/nothing", query: [:], authorization: nil).status == 404)
    }

    @Test func theTokenGuardsThePageTheAPIAndTheMetricsButNotHealth() throws {
        let routes = try Self.routes(token: "s3cret-token")
        for path in ["/", "/api/status", "/metrics"] {
            let refused = routes.reply(path: path, query: [:], authorization: nil)
            #expect(refused.status == 401, "\(path)")
            #expect(refused.wwwAuthenticate?.hasPrefix("Basic") == true)
            #expect(routes.reply(path: path, query: [:], authorization: "Bearer wrong-token!").status == 401)
            #expect(routes.reply(path: path, query: [:], authorization: "Bearer s3cret-tokeN").status == 401)
        }
        #expect(routes.reply(path: "/metrics", query: [:], authorization: "Bearer s3cret-token").status == 200)
        // A browser's Basic auth: any user name, the token as the password.
        let basic = "Basic " + Data("operator:s3cret-token".utf8).base64EncodedString()
        #expect(routes.reply(path: "/metrics", query: [:], authorization: basic).status == 200)
        for path in ["/health", "/health/ready"] { #expect(routes.reply(path: path, query: [:], authorization: nil).status == 200) }
    }

    @Test func anUnreadableTokenFileRefusesRatherThanOpens() {
        let routes = HTTPRoutes(metrics: GatewayMetrics(), health: { (true, "") }, status: { throw NoStatus() },
                                tokenFile: "/nonexistent/citygate-token")
        #expect(routes.reply(path: "/metrics", query: [:], authorization: "Bearer anything").status == 503)
    }

    @Test func queryParametersAreDecoded() {
        #expect(HTTPRoutes.parameters("kind=waste_bin&zone=gran+v%C3%ADa&silent=1&page=") ==
                ["kind": "waste_bin", "zone": "gran vía", "silent": "1", "page": ""])
    }

    @Test func aListenerBeyondLoopbackNeedsATokenOrAnExplicitAllowance() throws {
        let open = try ConfigDirectory(config: "[http]\nlisten = \"0.0.0.0:9464\"\n")
        #expect(open.errors().contains { $0.contains("http.listen") && $0.contains("token_file") }, "\(open.errors())")
        let allowed = try ConfigDirectory(config: "[http]\nlisten = \"0.0.0.0:9464\"\nallow_unauthenticated = true\n")
        #expect(allowed.errors().isEmpty, "\(allowed.errors())")
        let token = try ConfigDirectory(config: "[http]\nlisten = \"10.0.0.5:9464\"\ntoken_file = \"http-token\"\n")
        #expect(token.errors().isEmpty, "\(token.errors())")
        #expect(try GatewayConfig.load(path: token.configPath).httpTokenFile == token.path + "/http-token")
        let loopback = try ConfigDirectory(config: "[http]\nlisten = \"127.0.0.1:9464\"\n")
        #expect(loopback.errors().isEmpty)
        // --http-listen is checked the same way.
        var config = try GatewayConfig.load(path: loopback.configPath)
        var overrides = GatewayOverrides()
        overrides.httpListen = "0.0.0.0:9464"
        #expect(overrides.apply(to: &config).contains { $0.contains("--http-listen") && $0.contains("token_file") })
    }
}
