import Foundation

/// The live progress of a run on stderr: on a terminal one line rewritten in
/// place, otherwise a plain line each time (for logs and CI).
public struct ProgressLine: Sendable {
    let interactive: Bool
    /// Messages the run means to send, for the ETA (nil: a timed run).
    let target: Int?

    public init(target: Int?) {
        interactive = isatty(STDERR_FILENO) == 1
        self.target = target
    }

    public func show(sent: Int, acknowledged: Int, errors: Int, seconds: Double) {
        let rate = seconds > 0 ? Double(sent) / seconds : 0
        var line = "sent \(sent) acked \(acknowledged) \(String(format: "%.0f", rate)) msg/s errors \(errors) elapsed \(String(format: "%.0f", seconds)) s"
        if let target, rate > 0 { line += " eta \(String(format: "%.0f", Double(max(0, target - sent)) / rate)) s" }
        FileHandle.standardError.write(Data(((interactive ? "\r\u{1B}[K" : "") + "citygate-sim: " + line + (interactive ? "" : "\n")).utf8))
    }

    /// Ends the line in place before the summary.
    public func finish() {
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
