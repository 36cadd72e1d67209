import FoundationEssentials
import Readings

/// How a hub wants requests authenticated. Secrets are never held in the
/// config: a token or client secret is read from a file (a systemd
/// credential is a file under `$CREDENTIALS_DIRECTORY`) when it is needed,
/// so replacing the file fixes a 401 without a restart.
public enum HubAuth: Sendable, Equatable {
    case none
    /// `Authorization: Bearer <token>`.
    case bearer(tokenFile: String)
    /// `X-Auth-Token: <token>` (FIWARE Wilma PEP proxy).
    case xAuthToken(tokenFile: String)
    /// OAuth2 client credentials (Keycloak): a token from `tokenURL`, sent as
    /// a bearer token and fetched again before it expires.
    case oauth2(tokenURL: String, clientID: String, clientSecretFile: String, scope: String?)
}

/// Why auth headers could not be made.
public struct HubAuthError: Error, CustomStringConvertible {
    public var description: String
}

/// Makes the auth headers for one hub, caching an OAuth2 token until shortly
/// before it expires. Tokens and secrets never go into errors or logs.
public actor HubCredentials {
    let auth: HubAuth
    let client: HTTPClient
    private var cachedToken: (value: String, refreshAt: Date)?
    /// How many tokens were fetched (tests and metrics).
    public private(set) var tokensFetched = 0

    public init(auth: HubAuth, client: HTTPClient) {
        self.auth = auth
        self.client = client
    }

    public func headers() async throws -> [String: String] {
        switch auth {
        case .none:
            return [:]
        case let .bearer(file):
            return ["Authorization": "Bearer " + (try Self.secret(file, what: "token"))]
        case let .xAuthToken(file):
            return ["X-Auth-Token": try Self.secret(file, what: "token")]
        case .oauth2:
            return ["Authorization": "Bearer " + (try await oauthToken())]
        }
    }

    /// The hub answered 401/403: a cached token is no good any more.
    public func invalidate() { cachedToken = nil }

    /// One request to the hub with the auth headers added to `headers`; a
    /// 401/403 answer drops a cached token. Throws `HubAuthError` (nothing was
    /// sent) when no credentials could be made, and the client's error when
    /// the request got no answer.
    public func send(_ method: String, _ url: String, headers: [String: String] = [:], body: String? = nil) async throws -> HTTPResponse {
        let auth = try await self.headers()
        let response = try await client.send(method, url, headers: headers.merging(auth) { _, fromAuth in fromAuth }, body: body)
        if response.status == 401 || response.status == 403 { invalidate() }
        return response
    }

    private func oauthToken() async throws -> String {
        if let cached = cachedToken, Date() < cached.refreshAt { return cached.value }
        guard case let .oauth2(tokenURL, clientID, secretFile, scope) = auth else { throw HubAuthError(description: "not OAuth2") }
        let secret = try Self.secret(secretFile, what: "client secret")
        var form = "grant_type=client_credentials&client_id=\(Self.formEncode(clientID))&client_secret=\(Self.formEncode(secret))"
        if let scope { form += "&scope=\(Self.formEncode(scope))" }
        let response: HTTPResponse
        do {
            response = try await client.send("POST", tokenURL, headers: ["Content-Type": "application/x-www-form-urlencoded"], body: form)
        } catch {
            throw HubAuthError(description: "token endpoint \(tokenURL) unreachable: \(error)")
        }
        guard response.status == 200 else {
            throw HubAuthError(description: "token endpoint \(tokenURL) answered HTTP \(response.status)")
        }
        guard let object = JSONAnswer.parse(response.body), let token = object["access_token"]?.string, !token.isEmpty else {
            throw HubAuthError(description: "token endpoint \(tokenURL) answered without an access_token")
        }
        let lifetime = object["expires_in"]?.double ?? 300
        // Refresh before expiry: at 80 % of the lifetime, and at least 5 s early.
        let refreshIn = max(1, min(lifetime * 0.8, lifetime - 5))
        cachedToken = (token, Date().addingTimeInterval(refreshIn))
        tokensFetched += 1
        return token
    }

    static func secret(_ path: String, what: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw HubAuthError(description: "cannot read the \(what) file \(path)")
        }
        let value = PlainText.trimmingWhitespace(text)
        guard !value.isEmpty else { throw HubAuthError(description: "the \(what) file \(path) is empty") }
        return value
    }

    static func formEncode(_ text: String) -> String {
        PercentEncoding.encode(text, allowing: formAllowed)
    }

    /// RFC 3986's unreserved characters: what a form value keeps as it is.
    static let formAllowed = PercentEncoding.AllowedBytes("-._~")
}
