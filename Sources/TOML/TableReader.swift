import FoundationEssentials
import Readings

/// One problem in a config file: which file, which key, which line, and why.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var key: String
    public var line: Int?
    public var reason: String

    public init(file: String, key: String, line: Int?, reason: String) {
        self.file = file
        self.key = key
        self.line = line
        self.reason = reason
    }

    public var description: String {
        "\(file)\(line.map { ":\($0)" } ?? ""): \(key.isEmpty ? "" : "\(key): ")\(reason)"
    }
}

/// Every problem found while loading, so `check-config` can print them all
/// at once instead of one per run.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]
    public init(errors: [ConfigError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// Collects errors across readers (a class so nested readers share it).
public final class ConfigIssues {
    public var errors: [ConfigError] = []
    /// What was not checked, and why (not errors): `*_credential` keys when
    /// systemd is not there to supply them.
    public var notes: [ConfigError] = []
    /// What `${NAME}` in a string value expands from.
    public let environment: [String: String]
    /// A `*_credential` key with no `$CREDENTIALS_DIRECTORY` is a note, not an
    /// error (`check-config` from an operator's shell: systemd supplies the
    /// credential when it starts the service).
    public let credentialsLater: Bool
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, credentialsLater: Bool = false) {
        self.environment = environment
        self.credentialsLater = credentialsLater
    }
}

/// Reads one TOML table strictly: typed getters that record a clear error
/// for a wrong type or value, and `finish()` that reports every key nobody
/// asked for (a typo must not be silently ignored).
public struct TableReader {
    public let table: TOMLTable
    public let path: String
    public let file: String
    public let issues: ConfigIssues
    private var used: Set<String> = []

    public init(table: TOMLTable, path: String, file: String, issues: ConfigIssues) {
        self.table = table
        self.path = path
        self.file = file
        self.issues = issues
    }

    public func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public func fail(_ key: String, _ reason: String) {
        issues.errors.append(ConfigError(file: file, key: keyPath(key), line: table.entry(key)?.line ?? (table.line > 0 ? table.line : nil), reason: reason))
    }

    private mutating func raw(_ key: String) -> TOMLValue? {
        used.insert(key)
        return table[key]
    }

    /// Counts a key as read without reading it (its error is reported otherwise).
    public mutating func ignore(_ key: String) { used.insert(key) }

    public mutating func string(_ key: String) -> String? {
        guard let value = raw(key) else { return nil }
        guard case let .string(text) = value else { fail(key, "expected a string, found \(value.typeName)"); return nil }
        switch EnvironmentSubstitution.expand(text, environment: issues.environment) {
        case let .success(expanded): return expanded
        case let .failure(problem): fail(key, problem.reason); return nil
        }
    }

    public mutating func string(_ key: String, oneOf allowed: [String]) -> String? {
        guard let text = string(key) else { return nil }
        guard allowed.contains(text) else {
            fail(key, "'\(text)' is not one of \(allowed.map { "'\($0)'" }.joined(separator: ", "))")
            return nil
        }
        return text
    }

    public mutating func integer(_ key: String, in range: ClosedRange<Int64>) -> Int64? {
        guard let value = raw(key) else { return nil }
        guard case let .integer(number) = value else { fail(key, "expected an integer, found \(value.typeName)"); return nil }
        guard range.contains(number) else { fail(key, "\(number) is outside \(range.lowerBound)...\(range.upperBound)"); return nil }
        return number
    }

    /// An array of integers, each within `range`.
    public mutating func integers(_ key: String, in range: ClosedRange<Int64>) -> [Int64]? {
        guard let value = raw(key) else { return nil }
        guard case let .array(items) = value else { fail(key, "expected an array of integers, found \(value.typeName)"); return nil }
        var numbers: [Int64] = []
        for item in items {
            guard case let .integer(number) = item else { fail(key, "expected integers, found a \(item.typeName)"); return nil }
            guard range.contains(number) else { fail(key, "\(number) is outside \(range.lowerBound)...\(range.upperBound)"); return nil }
            numbers.append(number)
        }
        return numbers
    }

    public mutating func bool(_ key: String) -> Bool? {
        guard let value = raw(key) else { return nil }
        guard case let .bool(flag) = value else { fail(key, "expected true or false, found \(value.typeName)"); return nil }
        return flag
    }

    /// A duration string (`10s`, `15m`, `1h`) within a range of milliseconds.
    public mutating func duration(_ key: String, in range: ClosedRange<Int64>) -> Int64? {
        guard let text = string(key) else { return nil }
        guard let millis = DurationText.parseMillis(text) else {
            fail(key, "'\(text)' is not a duration (use e.g. 500ms, 10s, 15m, 1h)")
            return nil
        }
        guard range.contains(millis) else {
            fail(key, "\(text) is outside \(range.lowerBound / 1000)s...\(range.upperBound / 1000)s")
            return nil
        }
        return millis
    }

    /// A size (`500MiB`, `2GiB`, `64KiB`, or a bare number of bytes).
    public mutating func byteSize(_ key: String, in range: ClosedRange<Int64>) -> Int64? {
        guard let text = string(key) else { return nil }
        let units: [(String, Int64)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40), ("B", 1)]
        var bytes: Int64?
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            if let number = Int64(PlainText.trimmingBlanks(text.dropLast(suffix.count))) {
                let (value, overflow) = number.multipliedReportingOverflow(by: factor)
                bytes = overflow ? nil : value
            }
            break
        }
        if bytes == nil, let number = Int64(text) { bytes = number }
        guard let bytes else { fail(key, "'\(text)' is not a size (use e.g. 512MiB, 2GiB)"); return nil }
        guard range.contains(bytes) else { fail(key, "\(text) is outside \(range.lowerBound)...\(range.upperBound) bytes"); return nil }
        return bytes
    }

    /// A decimal number (integer or float in the file) as exact fixed point.
    public mutating func decimal(_ key: String, decimals: Int, in range: ClosedRange<Int64>) -> Int64? {
        guard let value = raw(key) else { return nil }
        let text: String
        switch value {
        case let .integer(number): text = String(number)
        case let .float(literal): text = literal
        default: fail(key, "expected a number, found \(value.typeName)"); return nil
        }
        guard let units = FixedPoint.parseDecimal(text, decimals: decimals) else {
            fail(key, "'\(text)' is not a decimal with at most \(decimals) fractional digits")
            return nil
        }
        guard range.contains(units) else { fail(key, "\(text) is out of range"); return nil }
        return units
    }

    public mutating func table(_ key: String) -> TableReader? {
        guard let value = raw(key) else { return nil }
        guard case let .table(inner) = value else { fail(key, "expected a table, found \(value.typeName)"); return nil }
        return TableReader(table: inner, path: keyPath(key), file: file, issues: issues)
    }

    /// An array of tables (`[[hub]]`).
    public mutating func tables(_ key: String) -> [TableReader] {
        guard let value = raw(key) else { return [] }
        guard case let .array(items) = value else { fail(key, "expected [[\(keyPath(key))]] tables, found \(value.typeName)"); return [] }
        var readers: [TableReader] = []
        for (index, item) in items.enumerated() {
            guard case let .table(inner) = item else { fail(key, "item \(index + 1) is a \(item.typeName), not a table"); continue }
            readers.append(TableReader(table: inner, path: "\(keyPath(key))[\(index + 1)]", file: file, issues: issues))
        }
        return readers
    }

    /// Reports keys present in the file that nothing read.
    public func finish() {
        for key in table.keys where !used.contains(key) {
            fail(key, "unknown key")
        }
    }
}

extension TableReader {
    /// A path from the config, relative to the config file's directory.
    public static func resolve(_ path: String, against base: String) -> String {
        if path.hasPrefix("/") || base.isEmpty { return path }
        return PathText.join(base, path)
    }

    /// Where a secret is: `<key>_file` (a path, relative to the config) or
    /// `<key>_credential` (the name of a systemd `LoadCredential=`, a file
    /// under `$CREDENTIALS_DIRECTORY`). Never the secret itself.
    public mutating func secretFile(_ key: String, baseDirectory: String) -> String? {
        let file = string(key + "_file")
        let credential = string(key + "_credential")
        if file != nil && credential != nil { fail(key + "_file", "give \(key)_file or \(key)_credential, not both"); return nil }
        if let file { return Self.resolve(file, against: baseDirectory) }
        guard let credential else { return nil }
        guard let directory = issues.environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty else {
            if issues.credentialsLater {
                issues.notes.append(ConfigError(file: self.file, key: path.isEmpty ? key + "_credential" : path + "." + key + "_credential", line: nil,
                                                reason: "'\(credential)' is supplied by systemd at run time (LoadCredential=), not checked"))
            } else {
                fail(key + "_credential", "$CREDENTIALS_DIRECTORY is not set (run under systemd with LoadCredential=)")
            }
            return nil
        }
        return PathText.join(directory, credential)
    }
}
