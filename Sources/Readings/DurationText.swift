/// Durations in config and on the command line: `500ms`, `10s`, `15m`,
/// `1h`, `7d`, or a bare integer of seconds. Parsed to milliseconds, with
/// overflow reported as nil (these come from operators and scripts).
public enum DurationText {
    public static func parseMillis(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        let trimmed = Substring(text).drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed()
        let body = String(trimmed)
        for (suffix, factor) in units where body.hasSuffix(suffix) {
            let number = body.dropLast(suffix.count)
            // "ms" also ends in "s": only accept digits before the suffix.
            guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(number) else { continue }
            let (result, overflow) = value.multipliedReportingOverflow(by: factor)
            return overflow ? nil : result
        }
        if let seconds = Int64(body), seconds >= 0 {
            let (result, overflow) = seconds.multipliedReportingOverflow(by: 1000)
            return overflow ? nil : result
        }
        return nil
    }
}

extension Duration {
    /// The duration in seconds, as a metric, a log field or a sleep wants it.
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
