import FoundationEssentials
import Glibc
import Logging
import Readings

/// How log lines are written outside journald (`[log] format`).
public enum LogFormat: String, Sendable, CaseIterable {
    /// `2026-11-30T00:46:30.123Z info message key=value ...`
    case text
    /// `ts=2026-11-30T00:46:30.123Z level=info msg="message" key=value ...`
    case logfmt
    /// `{"ts":"…","level":"info","msg":"message","key":"value"}`, one object a line.
    case json
}

/// One line an event on stderr. When stderr is the journal
/// (`$JOURNAL_STREAM` names stderr's device and inode) each line is
/// `<4>warning message key=value ...`: journald adds the time, and the
/// syslog priority lets `journalctl -p warning` filter by level. Anywhere
/// else a line starts with its RFC 3339 UTC time, in the configured
/// `LogFormat`; on a terminal the text format colours the level.
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    let label: String
    let style: Style
    let format: LogFormat

    public enum Style: Sendable { case plain, colour, journal }

    public init(label: String, level: Logger.Level, style: Style = LineLogHandler.detectStyle(), format: LogFormat = .text) {
        self.label = label
        self.logLevel = level
        self.style = style
        self.format = format
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

    /// One event as its line, newline included. `time`: the line's time
    /// (nil: none, as for the journal, which stamps its own).
    public static func line(level: Logger.Level, message: String, fields: Logger.Metadata, style: Style,
                            format: LogFormat = .text, time: EpochMillis? = nil) -> String {
        if style != .journal {
            let stamp = time.map(timestamp)
            switch format {
            case .text: break
            case .logfmt:
                var line = stamp.map { "ts=\($0) " } ?? ""
                line += "level=\(level.rawValue) msg=\(quoted(message))"
                for key in fields.keys.sorted() { line += " \(key)=\(quoted(fields[key]!.description))" }
                return line + "\n"
            case .json:
                var members: [(String, JSONText)] = []
                if let stamp { members.append(("ts", .string(stamp))) }
                members += [("level", .string(level.rawValue)), ("msg", .string(message))]
                for key in fields.keys.sorted() where !["ts", "level", "msg"].contains(key) { members.append((key, .string(fields[key]!.description))) }
                return JSONText.object(members).serialized() + "\n"
            }
            if let stamp { return stamp + " " + textLine(level: level, message: message, fields: fields, style: style) }
        }
        return textLine(level: level, message: message, fields: fields, style: style)
    }

    /// `level message key=value ...` (the journal's, and the text format after its time).
    static func textLine(level: Logger.Level, message: String, fields: Logger.Metadata, style: Style) -> String {
        var line: String
        switch style {
        case .plain: line = level.rawValue
        case .colour: line = coloured(level)
        case .journal: line = "<\(priority(level))>" + level.rawValue
        }
        line += " "
        // A message is one line: a newline in it would split the event in the journal.
        line += style == .journal ? message.replacing("\n", with: "\\n") : message
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
        let line = Self.line(level: event.level, message: event.message.description, fields: fields, style: style, format: format,
                             time: style == .journal ? nil : Int64(Date().timeIntervalSince1970 * 1000))
        StandardError.write(line)
    }

    /// Values with spaces, quotes or `=` are quoted so a line splits cleanly.
    static func quoted(_ value: String) -> String {
        if !value.isEmpty && !value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\n" }) { return value }
        return "\"" + value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
            .replacing("\n", with: "\\n") + "\""
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

    /// `2026-11-30T00:46:30.123Z`: UTC, always with milliseconds (lines line up).
    static func timestamp(_ millis: EpochMillis) -> String {
        let text = RFC3339.format(millis)
        return text.contains(".") ? text : String(text.dropLast()) + ".000Z"
    }

    /// Installs the handler for the whole process (once).
    public static func bootstrap(level: Logger.Level, format: LogFormat = .text) {
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, level: level, format: format) }
    }
}
