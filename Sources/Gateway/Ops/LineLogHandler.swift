import Foundation
import Logging

/// One line an event on stderr: `level message key=value ...`. journald adds
/// the time, so there is none here. When stderr is a terminal the level is
/// coloured; when it is the journal (`$JOURNAL_STREAM` names stderr's device
/// and inode) each line starts with its syslog priority, `<4>warning ...`, so
/// `journalctl -p warning` filters by level; otherwise the line is plain text.
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    let label: String
    let style: Style

    public enum Style: Sendable { case plain, colour, journal }

    public init(label: String, level: Logger.Level, style: Style = LineLogHandler.detectStyle()) {
        self.label = label
        self.logLevel = level
        self.style = style
    }

    /// The journal when stderr is the stream systemd connected, a terminal, or plain.
    public static func detectStyle(environment: [String: String] = ProcessInfo.processInfo.environment) -> Style {
        if let stream = environment["JOURNAL_STREAM"] {
            let parts = stream.split(separator: ":")
            var info = stat()
            if parts.count == 2, fstat(STDERR_FILENO, &info) == 0,
               UInt64(parts[0]) == UInt64(info.st_dev), UInt64(parts[1]) == UInt64(info.st_ino) {
                return .journal
            }
        }
        return isatty(STDERR_FILENO) == 1 ? .colour : .plain
    }

    /// syslog priority per level (RFC 5424 severities).
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    /// One event as its line, newline included.
    public static func line(level: Logger.Level, message: String, fields: Logger.Metadata, style: Style) -> String {
        var line: String
        switch style {
        case .plain: line = level.rawValue
        case .colour: line = coloured(level)
        case .journal: line = "<\(priority(level))>" + level.rawValue
        }
        line += " "
        // A message is one line: a newline in it would split the event in the journal.
        line += style == .journal ? message.replacingOccurrences(of: "\n", with: "\\n") : message
        for key in fields.keys.sorted() {
            line += " \(key)=\(quoted(fields[key]!.description))"
        }
        return line + "\n"
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        let line = Self.line(level: event.level, message: event.message.description, fields: fields, style: style)
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// Values with spaces, quotes or `=` are quoted so a line splits cleanly.
    static func quoted(_ value: String) -> String {
        if !value.isEmpty && !value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\n" }) { return value }
        return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }

    static func coloured(_ level: Logger.Level) -> String {
        let code: String
        switch level {
        case .trace, .debug: code = "2"
        case .info, .notice: code = "32"
        case .warning: code = "33"
        case .error, .critical: code = "31"
        }
        return "\u{1B}[\(code)m\(level.rawValue)\u{1B}[0m"
    }

    /// Installs the handler for the whole process (once).
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, level: level) }
    }
}
