import Foundation
import Readings

/// Inline SVG charts for the load report: drawn as text, no scripts, no
/// external assets, so the report opens anywhere (a browser on a laptop, a
/// CI artefact viewer). Elements a test reads carry `data-` attributes.
public enum SVGChart {
    public struct Series: Sendable {
        public var name: String
        public var color: String
        public var points: [(x: Double, y: Double)]
        /// Drawn dashed, so a line that lies on another (acknowledged on published) still shows.
        public var dashed: Bool

        public init(name: String, color: String, points: [(x: Double, y: Double)], dashed: Bool = false) {
            self.name = name
            self.color = color
            self.points = points
            self.dashed = dashed
        }
    }

    static let width = 720.0, height = 260.0
    static let left = 64.0, right = 16.0, top = 28.0, bottom = 40.0

    /// A line chart of several series over a shared x axis, with a legend.
    public static func lines(_ series: [Series], xLabel: String, yLabel: String) -> String {
        let xs = series.flatMap { $0.points.map(\.x) }, ys = series.flatMap { $0.points.map(\.y) }
        guard let xMax = xs.max(), xMax > 0 else { return empty("no samples") }
        let yTicks = ticks(upTo: max(ys.max() ?? 0, 1)), xTicks = ticks(upTo: xMax)
        let yTop = yTicks.last ?? 1, xRight = xTicks.last ?? xMax
        func px(_ x: Double) -> Double { left + x / xRight * (width - left - right) }
        func py(_ y: Double) -> Double { height - bottom - y / yTop * (height - top - bottom) }
        var svg = open(label: yLabel) + axes(xTicks: xTicks.map { (px($0), label($0)) }, yTicks: yTicks.map { (py($0), label($0)) }, xLabel: xLabel, yLabel: yLabel)
        for (index, line) in series.enumerated() where !line.points.isEmpty {
            let points = line.points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2\"\(line.dashed ? " stroke-dasharray=\"6 4\"" : "") points=\"\(points)\" data-series=\"\(HTMLText.escape(line.name))\" data-points=\"\(line.points.count)\"><title>\(HTMLText.escape(line.name))</title></polyline>"
            let x = left + 8 + Double(index) * 190
            svg += "<rect x=\"\(x)\" y=\"8\" width=\"12\" height=\"4\" fill=\"\(line.color)\"/><text x=\"\(x + 16)\" y=\"14\" font-size=\"12\">\(HTMLText.escape(line.name))</text>"
        }
        return svg + "</svg>"
    }

    /// A bar chart, one bar per (label, value), labels under the bars
    /// (thinned out when there are many). `note` is each bar's tooltip.
    public static func bars(_ bars: [(label: String, value: Double, note: String)], color: String, xLabel: String, yLabel: String) -> String {
        guard !bars.isEmpty else { return empty("no samples") }
        let yTicks = ticks(upTo: max(bars.map(\.value).max() ?? 0, 1))
        let yTop = yTicks.last ?? 1
        let slot = (width - left - right) / Double(bars.count)
        func py(_ y: Double) -> Double { height - bottom - y / yTop * (height - top - bottom) }
        var svg = open(label: yLabel) + axes(xTicks: [], yTicks: yTicks.map { (py($0), label($0)) }, xLabel: xLabel, yLabel: yLabel)
        let every = max(1, Int((Double(bars.count) / 12).rounded(.up)))
        for (index, bar) in bars.enumerated() {
            let x = left + Double(index) * slot
            let y = py(bar.value)
            svg += "<rect x=\"\(f(x + 1))\" y=\"\(f(y))\" width=\"\(f(max(slot - 2, 1)))\" height=\"\(f(height - bottom - y))\" fill=\"\(color)\" data-count=\"\(label(bar.value))\"><title>\(HTMLText.escape(bar.note))</title></rect>"
            if index % every == 0 {
                svg += "<text x=\"\(f(x + slot / 2))\" y=\"\(f(height - bottom + 14))\" font-size=\"11\" text-anchor=\"middle\">\(HTMLText.escape(bar.label))</text>"
            }
        }
        return svg + "</svg>"
    }

    static func open(label: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(HTMLText.escape(label))\" font-family=\"system-ui,sans-serif\">"
    }

    static func empty(_ text: String) -> String {
        open(label: text) + "<text x=\"\(Int(width / 2))\" y=\"\(Int(height / 2))\" text-anchor=\"middle\" fill=\"#57606a\">\(text)</text></svg>"
    }

    static func axes(xTicks: [(Double, String)], yTicks: [(Double, String)], xLabel: String, yLabel: String) -> String {
        var svg = "<g stroke=\"#d8dee4\">"
        for (y, _) in yTicks { svg += "<line x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(y))\" y2=\"\(f(y))\"/>" }
        svg += "</g><g font-size=\"11\" fill=\"#57606a\">"
        for (y, text) in yTicks { svg += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(text)</text>" }
        for (x, text) in xTicks { svg += "<text x=\"\(f(x))\" y=\"\(f(height - bottom + 14))\" text-anchor=\"middle\">\(text)</text>" }
        svg += "<text x=\"\(f((left + width - right) / 2))\" y=\"\(f(height - 6))\" text-anchor=\"middle\">\(HTMLText.escape(xLabel))</text>"
        let middle = f((top + height - bottom) / 2)
        svg += "<text x=\"12\" y=\"\(middle)\" text-anchor=\"middle\" transform=\"rotate(-90 12 \(middle))\">\(HTMLText.escape(yLabel))</text>"
        return svg + "</g><line x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(height - bottom))\" y2=\"\(f(height - bottom))\" stroke=\"#57606a\"/>"
    }

    /// A coordinate with one decimal (enough for a 720-unit view box).
    static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    /// Round axis ticks from 0 to at least `top`: steps of 1, 2 or 5 × 10ⁿ, about five of them.
    static func ticks(upTo top: Double) -> [Double] {
        guard top.isFinite, top > 0 else { return [0, 1] }
        let raw = top / 5
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        let count = Int((top / step).rounded(.up))
        return (0...max(count, 1)).map { Double($0) * step }
    }

    /// A tick or bar value as people read it: 12k, 1.5M, 0.2.
    static func label(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 1_000_000 { return trimmed(value / 1_000_000) + "M" }
        if magnitude >= 10_000 { return trimmed(value / 1_000) + "k" }
        return trimmed(value)
    }

    static func trimmed(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }
}
