/// The few string operations citygate needs that only full Foundation has
/// (`trimmingCharacters(in:)`, `String(format:)`, NSString's path methods,
/// percent-encoding). The daemon links FoundationEssentials only: full
/// Foundation and its ICU data cost about 8 MiB of resident memory for these
/// few calls (issue 17, Benchmarks/RESULTS.md).
public enum PlainText {
    /// `text` without leading and trailing spaces and tabs (Foundation's `.whitespaces`).
    public static func trimmingBlanks(_ text: some StringProtocol) -> String {
        trimming(text) { $0.isWhitespace && !$0.isNewline }
    }

    /// `text` without leading and trailing white space and line breaks.
    public static func trimmingWhitespace(_ text: some StringProtocol) -> String {
        trimming(text) { $0.isWhitespace }
    }

    private static func trimming(_ text: some StringProtocol, _ drop: (Character) -> Bool) -> String {
        guard let first = text.firstIndex(where: { !drop($0) }), let last = text.lastIndex(where: { !drop($0) }) else { return "" }
        return String(text[first...last])
    }

    /// `value` rounded to `decimals` places, as `String(format: "%.Nf")` would
    /// write it, for figures in logs and reports. Not for readings, which are
    /// exact fixed-point values and never pass through a Double.
    public static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        let places = min(max(decimals, 0), 9)
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = (value * scale).rounded()
        // Beyond what an Int64 holds the digits are not exact anyway.
        guard scaled.magnitude < 9e18 else { return String(value) }
        let text = FixedPoint.decimalString(Int64(scaled), decimals: places)
        // "%.1f" writes -0.0 for a small negative value; keep the sign as printf does.
        return scaled == 0 && value.sign == .minus ? "-" + text : text
    }
}
