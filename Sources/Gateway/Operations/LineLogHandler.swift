import Foundation
import Logging

/// One line an event on stderr: `level message key=value ...`. journald adds
/// the time, so there is none here. When stderr is a terminal the level is
/// coloured; otherwise the line is plain text.
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    let label: String
    let colour: Bool

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
        self.colour = isatty(STDERR_FILENO) == 1
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = colour ? Self.coloured(event.level) : event.level.rawValue
        line += " "
        line += event.message.description
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        for key in fields.keys.sorted() {
            line += " \(key)=\(Self.quoted(fields[key]!.description))"
        }
        line += "\n"
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
