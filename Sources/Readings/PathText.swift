/// File paths as strings, as NSString's path methods treat them (see PlainText
/// for why not NSString).
public enum PathText {
    /// `name` under `directory`: "/var/lib" + "a.db" -> "/var/lib/a.db". An
    /// empty directory gives `name` as is.
    public static func join(_ directory: String, _ name: String) -> String {
        guard !directory.isEmpty else { return name }
        guard !name.isEmpty else { return directory }
        let head = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        let tail = name.hasPrefix("/") ? String(name.dropFirst()) : name
        return head + "/" + tail
    }

    /// The directory a path is in: "/var/lib/a.db" -> "/var/lib", "/a.db" -> "/",
    /// "a.db" -> "" (the working directory).
    public static func directory(of path: String) -> String {
        let trimmed = withoutTrailingSlashes(path)
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }

    /// The last component of a path: "/var/lib/a.db" -> "a.db".
    public static func lastComponent(of path: String) -> String {
        let trimmed = withoutTrailingSlashes(path)
        guard let slash = trimmed.lastIndex(of: "/"), trimmed.count > 1 else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// "/var/lib/" -> "/var/lib"; the root "/" stays itself.
    private static func withoutTrailingSlashes(_ path: String) -> Substring {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        return trimmed
    }
}
