import FoundationEssentials
import TOML

extension HubAuth {
    /// Reads `auth` and its keys from a `[[hub]]` table:
    ///
    ///     auth = "bearer"            # or "x-auth-token"
    ///     token_file = "/etc/citygate/hub.token"   # or token_credential = "hub-token"
    ///
    ///     auth = "oauth2"
    ///     token_url = "https://idm.example/realms/city/protocol/openid-connect/token"
    ///     client_id = "citygate"
    ///     client_secret_file = "..."  # or client_secret_credential = "hub-secret"
    ///     scope = "..."               # optional
    ///
    /// A `*_credential` names a systemd credential (`LoadCredential=`): the
    /// file of that name under `$CREDENTIALS_DIRECTORY`.
    public static func read(from hub: inout TableReader, baseDirectory: String, url: String) -> HubAuth {
        let auth = readKind(from: &hub, baseDirectory: baseDirectory)
        // Credentials over plain http:// to another host cross the network in clear.
        let allowInsecure = hub.bool("allow_insecure_auth") ?? false
        if auth != .none, !allowInsecure {
            var insecure: [(key: String, url: String)] = HubLinks.isInsecure(url) ? [("auth", url)] : []
            if case let .oauth2(tokenURL, _, _, _) = auth, HubLinks.isInsecure(tokenURL) { insecure.append(("token_url", tokenURL)) }
            for item in insecure {
                hub.fail(item.key, "would send credentials over plain http:// to \(item.url); use https://, or set allow_insecure_auth = true")
            }
        }
        return auth
    }

    private static func readKind(from hub: inout TableReader, baseDirectory: String) -> HubAuth {
        let kind = hub.string("auth", oneOf: ["none", "bearer", "x-auth-token", "oauth2"]) ?? "none"
        switch kind {
        case "bearer", "x-auth-token":
            guard let path = hub.secretFile("token", baseDirectory: baseDirectory) else {
                if hub.table["token_file"] == nil && hub.table["token_credential"] == nil { hub.fail("token_file", "required with auth = \"\(kind)\"") }
                return .none
            }
            return kind == "bearer" ? .bearer(tokenFile: path) : .xAuthToken(tokenFile: path)
        case "oauth2":
            let url = hub.string("token_url")
            let client = hub.string("client_id")
            let scope = hub.string("scope")
            let secret = hub.secretFile("client_secret", baseDirectory: baseDirectory)
            if url == nil { hub.fail("token_url", "required with auth = \"oauth2\"") }
            if client == nil { hub.fail("client_id", "required with auth = \"oauth2\"") }
            if secret == nil && hub.table["client_secret_file"] == nil && hub.table["client_secret_credential"] == nil {
                hub.fail("client_secret_file", "required with auth = \"oauth2\"")
            }
            if let url, !(url.hasPrefix("http://") || url.hasPrefix("https://")) { hub.fail("token_url", "'\(url)' is not an http(s) URL") }
            guard let url, let client, let secret else { return .none }
            return .oauth2(tokenURL: url, clientID: client, clientSecretFile: secret, scope: scope)
        default:
            return .none
        }
    }
}
