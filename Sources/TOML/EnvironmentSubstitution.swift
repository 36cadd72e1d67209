/// `${NAME}` in a config string is replaced by the environment variable NAME
/// (e.g. `url = "https://${HUB_HOST}/v1.1"` from an EnvironmentFile). An unset
/// variable is a config error, not an empty string; `$${` writes a literal `${`.
/// Secrets belong in `*_file` / `*_credential` keys instead: the environment
/// of a process is readable by more than its files.
enum EnvironmentSubstitution {
    struct Problem: Error { var reason: String }

    static func expand(_ text: String, environment: [String: String]) -> Result<String, Problem> {
        guard text.contains("${") else { return .success(text) }
        var out = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.hasPrefix("${") {  // `$${` → literal `${`
                out += "${"
                rest = after.dropFirst(2)
                continue
            }
            guard after.hasPrefix("{") else {
                out += "$"
                rest = after
                continue
            }
            guard let close = after.firstIndex(of: "}") else {
                return .failure(Problem(reason: "'${' without a closing '}'"))
            }
            let name = String(after[after.index(after: after.startIndex)..<close])
            guard !name.isEmpty, name.allSatisfy({ $0 == "_" || $0.isASCII && ($0.isLetter || $0.isNumber) }), !(name.first!.isNumber) else {
                return .failure(Problem(reason: "'${\(name)}' is not an environment variable name"))
            }
            guard let value = environment[name] else {
                return .failure(Problem(reason: "environment variable \(name) is not set"))
            }
            out += value
            rest = after[after.index(after: close)...]
        }
        out += rest
        return .success(out)
    }
}
