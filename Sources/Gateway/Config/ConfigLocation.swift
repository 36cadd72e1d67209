import FoundationEssentials

/// Where a command finds its config when `--config` is not given: the
/// environment, the installed file, then a source checkout's. An operator on
/// an installed box types `citygate status`; a developer in the repository
/// types the same.
public enum ConfigLocation {
    public static let installed = "/etc/citygate/citygate.toml"
    public static let checkout = "Config/citygate.toml"

    /// The path to load, or nil when there is none to be found. In order:
    /// `explicit` (`--config`), `$CITYGATE_CONFIG`, `/etc/citygate/citygate.toml`,
    /// `./Config/citygate.toml`. An explicit or environment path is taken as
    /// given (a missing file is then the loader's clear error).
    public static func resolve(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                               exists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }) -> String? {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = environment["CITYGATE_CONFIG"], !fromEnvironment.isEmpty { return fromEnvironment }
        return [installed, checkout].first(where: exists)
    }

    /// What to say when nothing was found.
    public static let notFound = "no config found: give --config PATH, set CITYGATE_CONFIG, or install \(installed) (looked for \(installed) and ./\(checkout))"
}
