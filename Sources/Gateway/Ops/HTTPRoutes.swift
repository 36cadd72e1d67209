import FoundationEssentials
import Readings

/// What the gateway serves, by path: a pure function from a request's path,
/// query and Authorization header to an answer, so it is tested without a
/// socket. `HTTPEndpointService` puts it on the wire. Nothing here changes state.
struct HTTPRoutes: Sendable {
    struct Reply: Sendable {
        var status: Int
        var contentType = "text/plain; charset=utf-8"
        /// A 401's challenge (the only header besides the content type).
        var wwwAuthenticate: String?
        var body: [UInt8]
    }

    let metrics: GatewayMetrics
    let health: @Sendable () -> (ready: Bool, detail: String)
    let status: @Sendable () throws -> LiveStatus
    /// The bearer token's file; nil: no token asked for (loopback, or allow_unauthenticated).
    let tokenFile: String?

    func reply(path: String, query: [String: String], authorization: String?) -> Reply {
        switch path {
        case "/health", "/health/live":
            return Reply(status: 200, body: Array("ok\n".utf8))
        case "/health/ready":
            let state = health()
            return Reply(status: state.ready ? 200 : 503, body: Array("\(state.detail)\n".utf8))
        case "/", "/api/status", "/metrics":
            if let refusal = refusal(authorization) { return refusal }
            if path == "/metrics" {
                return Reply(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: metrics.exposition())
            }
            do {
                let live = try status()
                if path == "/" {
                    return Reply(status: 200, contentType: "text/html; charset=utf-8", body: Array(StatusPage.html(live, query: query).utf8))
                }
                return Reply(status: 200, contentType: "application/json", body: Array(live.json.serialized().utf8))
            } catch {
                return Reply(status: 500, body: Array("status unavailable: \(error)\n".utf8))
            }
        default:
            return Reply(status: 404, body: Array("not found: try /, /api/status, /metrics, /health, /health/ready\n".utf8))
        }
    }

    /// Nil when the request may be answered. A token is taken as
    /// `Authorization: Bearer TOKEN` (scrapers, scripts) or as the password
    /// of HTTP Basic auth (a browser asks for it; the user name is ignored).
    func refusal(_ authorization: String?) -> Reply? {
        guard let tokenFile else { return nil }
        guard let token = (try? String(contentsOfFile: tokenFile, encoding: .utf8)).map({ PlainText.trimmingWhitespace($0) }), !token.isEmpty else {
            return Reply(status: 503, body: Array("the token file \(tokenFile) cannot be read or is empty\n".utf8))
        }
        var offered: String?
        if let header = authorization {
            if header.hasPrefix("Bearer ") { offered = PlainText.trimmingBlanks(header.dropFirst(7)) }
            if header.hasPrefix("Basic "), let data = Data(base64Encoded: PlainText.trimmingBlanks(header.dropFirst(6))),
               let pair = String(data: data, encoding: .utf8), let colon = pair.firstIndex(of: ":") {
                offered = String(pair[pair.index(after: colon)...])
            }
        }
        if let offered, Self.sameBytes(offered, token) { return nil }
        return Reply(status: 401, wwwAuthenticate: "Basic realm=\"citygate\", charset=\"UTF-8\"",
                     body: Array("a token is needed: Authorization: Bearer TOKEN (or the token as a Basic auth password)\n".utf8))
    }

    /// `kind=parking&page=2` → ["kind": "parking", "page": "2"] (percent-decoded,
    /// `+` a space); the last of a repeated name wins.
    static func parameters(_ query: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decoded(_ text: Substring) -> String {
                PercentEncoding.decode(text.replacing("+", with: " ")) ?? String(text)
            }
            guard let name = parts.first, !name.isEmpty else { continue }
            result[decoded(name)] = parts.count > 1 ? decoded(parts[1]) : ""
        }
        return result
    }

    /// Compares in time that depends on the lengths only, not on where they differ.
    static func sameBytes(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}
