import FoundationEssentials

/// Which URLs may receive the gateway's credentials: links a hub hands back
/// are used only under the configured service root, and credentials go over
/// plain `http://` only to loopback unless `allow_insecure_auth = true`.
public enum HubLinks {
    /// `link` is the service root itself or below it: same scheme, host and
    /// port, a path under the root's, no `.`/`..` segments (which would
    /// resolve elsewhere) and no user info.
    public static func isUnder(_ root: String, _ link: String) -> Bool {
        guard let base = URLComponents(string: root), let candidate = URLComponents(string: link),
              let scheme = base.scheme?.lowercased(), candidate.scheme?.lowercased() == scheme,
              let host = base.host?.lowercased(), candidate.host?.lowercased() == host,
              candidate.user == nil, candidate.password == nil,
              effectivePort(candidate) == effectivePort(base) else { return false }
        let rootPath = base.path.hasSuffix("/") ? String(base.path.dropLast()) : base.path
        let path = candidate.path
        guard path == rootPath || path.hasPrefix(rootPath + "/") else { return false }
        return !path.split(separator: "/").contains { $0 == "." || $0 == ".." }
    }

    static func effectivePort(_ url: URLComponents) -> Int? {
        url.port ?? (url.scheme?.lowercased() == "https" ? 443 : url.scheme?.lowercased() == "http" ? 80 : nil)
    }

    /// Plain `http://` to a host other than loopback: credentials would cross the network in clear.
    public static func isInsecure(_ url: String) -> Bool {
        guard let components = URLComponents(string: url), components.scheme?.lowercased() == "http" else { return false }
        let host = (components.host ?? "").lowercased()
        return !(host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127."))
    }
}
