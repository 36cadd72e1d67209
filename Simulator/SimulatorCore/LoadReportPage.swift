import Foundation
import Readings

/// `report.html`: one self-contained page (inline CSS and SVG, no scripts,
/// no external assets) drawn from a `LoadReport`. The verdict comes first,
/// in words; every figure that `report.json` also holds is shown in an
/// element with `data-key="path.in.report.json"` and the same digits, so a
/// test (and a suspicious reader) can check one against the other.
public enum LoadReportPage {
    public static func html(_ report: LoadReport) -> String {
        let setup = report.setup
        let acknowledgement = setup.qos == 1 ? "PUBACK" : "sent (QoS 0 has no PUBACK)"
        var page = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>citygate-sim load report, \(HTMLText.escape(RFC3339.format(setup.startedAt)))</title>
            <style>
            \(HTMLText.sharedStyle)
            body{margin:0 auto;max-width:980px}
            figure{margin:0;background:#fff;border:1px solid #d8dee4;border-radius:6px;padding:8px}
            figure svg{width:100%;height:auto}
            figcaption{font-size:13px;color:#57606a}
            table{border-collapse:collapse;background:#fff}td,th{border:1px solid #d8dee4;padding:4px 8px;text-align:right}
            th{background:#eef1f4}td:first-child,th:first-child{text-align:left}
            </style></head><body>
            <h1>citygate-sim load report</h1>
            <p class="meta">Started \(HTMLText.escape(RFC3339.format(setup.startedAt))) against \(HTMLText.escape(setup.broker)), QoS \(setup.qos), \
            \(setup.devices) devices\(setup.scenario.map { " (scenario " + HTMLText.escape($0) + ")" } ?? ""), \
            rate \(setup.rate > 0 ? LoadReport.fixed(setup.rate, 1) + " uplinks/s" : "as fast as \(setup.maxInFlight) in flight allow"), \
            citygate-sim \(HTMLText.escape(setup.simulatorVersion)).</p>

            """
        page += verdict(report)
        page += "<h2>Figures</h2><div class=\"cards\">"
        page += card("published", figure("sent", String(report.publish.sent)))
        page += card("acknowledged", figure("acknowledged", String(report.publish.acknowledged)))
        page += card("publish errors", figure("errors", String(report.publish.errors)))
        page += card("publish rate", figure("rate_per_s", report.publishedRateText) + " msg/s")
        page += card("seconds publishing", figure("seconds", LoadReport.fixed(report.publish.seconds, 3)))
        if let gateway = report.gateway {
            page += card("loss", figure("loss", String(gateway.loss)))
            page += card("gateway stored", figure("gateway.stored", String(gateway.stored)))
            page += card("gateway received", figure("gateway.received", String(Int(gateway.run.received))))
            page += card("duplicates", figure("gateway.duplicates", String(gateway.duplicates)))
            page += card("quarantined", figure("gateway.quarantined", String(Int(gateway.run.quarantined))))
            if let cpu = gateway.cpuMicrosPerUplink { page += card("gateway CPU per uplink", figure("gateway.cpu_us_per_uplink", LoadReport.fixed(cpu, 1)) + " µs") }
            if gateway.run.residentBytes > 0 { page += card("gateway RSS at the end", figure("gateway.resident_mib", LoadReport.fixed(gateway.run.residentBytes / 1_048_576, 1)) + " MiB") }
        }
        page += "</div>\n"

        page += "<h2>Rate per second</h2><figure>"
        var series = [
            SVGChart.Series(name: "published", color: "#0969da", points: report.rates.map { ($0.seconds, $0.published) }),
            SVGChart.Series(name: "acknowledged", color: "#8250df", points: report.rates.map { ($0.seconds, $0.acknowledged) }, dashed: true),
        ]
        if report.rates.contains(where: { $0.committed != nil }) {
            series.append(SVGChart.Series(name: "gateway committed", color: "#1a7f37",
                                          points: report.rates.compactMap { point in point.committed.map { (point.seconds, $0) } }))
        }
        page += SVGChart.lines(series, xLabel: "seconds since the start", yLabel: "messages per second")
        page += "<figcaption>Sampled once a second while publishing and while the gateway drained (\(report.rates.count) points). "
            + "Gateway commits come from citygate_uplinks_committed_total.</figcaption></figure>\n"

        page += "<h2>Publish → \(acknowledgement) latency</h2>"
        if report.puback.count > 0 {
            page += "<table><tr><th>percentile</th>" + report.pubackMillis.map { "<th>\($0.key)</th>" }.joined() + "</tr>"
            page += "<tr><td>ms (\(figure("puback_latency_ms.count", String(report.puback.count))) messages)</td>"
                + report.pubackMillis.map { "<td>" + figure("puback_latency_ms.\($0.key)", $0.text) + "</td>" }.joined() + "</tr></table>"
            page += "<figure>" + SVGChart.bars(report.puback.buckets.map { bucket in
                (label: micros(bucket.upToMicros), value: Double(bucket.count), note: "under \(micros(bucket.upToMicros)): \(bucket.count) messages")
            }, color: "#8250df", xLabel: "latency, under (buckets 10, 20, 50, 100 µs, …)", yLabel: "messages")
            page += "<figcaption>Measured by the simulator for every message with HdrHistogram (3 significant digits), "
                + "from the publish call to libmosquitto's publish callback.</figcaption></figure>\n"
        } else {
            page += "<p>No message was acknowledged.</p>\n"
        }

        if report.gateway != nil {
            page += "<h2>Gateway ingest latency</h2><table><tr><th>percentile</th>" + report.ingestMillis.map { "<th>\($0.key)</th>" }.joined() + "</tr><tr><td>ms</td>"
            page += report.ingestMillis.map { entry in "<td>" + (entry.text.map { figure("latency_ms.\(entry.key)", $0) } ?? "–") + "</td>" }.joined() + "</tr></table>"
            page += "<figure>" + SVGChart.bars(report.ingestBuckets.map { bucket in
                let bound = bucket.upToMillis.isFinite ? "\(SVGChart.trimmed(bucket.upToMillis)) ms" : "more"
                return (label: bound, value: Double(bucket.count), note: "≤ \(bound): \(bucket.count) uplinks")
            }, color: "#1a7f37", xLabel: "commit time minus the envelope's time, up to", yLabel: "uplinks")
            page += "<figcaption>From the gateway's citygate_uplink_ingest_latency_seconds histogram (its fixed buckets; "
                + "percentiles interpolated as Prometheus does).</figcaption></figure>\n"
        }

        page += "<h2>Faults injected</h2>"
        if report.faults.isEmpty {
            page += "<p>None: the run played the fleet without faults.</p>\n"
        } else {
            page += "<table><tr><th>fault</th><th>count</th></tr>"
                + report.faults.map { "<tr><td>\(HTMLText.escape($0.name))</td><td>" + figure("faults.\($0.name)", String($0.count)) + "</td></tr>" }.joined()
                + "</table>\n"
        }
        page += "<p class=\"meta\">The same figures are in report.json beside this file.</p>\n</body></html>\n"
        return page
    }

    static func verdict(_ report: LoadReport) -> String {
        var problems: [String] = []
        if report.publish.errors > 0 { problems.append("\(report.publish.errors) publishes failed.") }
        let unacknowledged = report.publish.sent - report.publish.acknowledged
        if report.setup.qos == 1 && unacknowledged > 0 { problems.append("\(unacknowledged) messages were never acknowledged by the broker.") }
        if let gateway = report.gateway {
            if gateway.loss > 0 { problems.append("The gateway lost \(gateway.loss) acknowledged uplinks.") }
            if gateway.loss < 0 { problems.append("The gateway stored \(-gateway.loss) more uplinks than were acknowledged (other traffic during the run?).") }
        }
        if problems.isEmpty {
            let stored = report.gateway.map { ", and the gateway stored all \($0.stored)" } ?? " (no gateway metrics were read)"
            return "<p class=\"ok\" id=\"verdict\">No loss: \(report.publish.acknowledged) messages acknowledged\(stored).</p>\n"
        }
        return "<div class=\"problems\" id=\"verdict\"><b>Problems</b><ul>" + problems.map { "<li>\(HTMLText.escape($0))</li>" }.joined() + "</ul></div>\n"
    }

    static func card(_ title: String, _ body: String) -> String {
        "<div class=\"card\">\(HTMLText.escape(title))<b>\(body)</b></div>"
    }

    /// A figure that report.json holds at `key` (a dotted path), with the same text.
    static func figure(_ key: String, _ text: String) -> String {
        "<span data-key=\"\(HTMLText.escape(key))\">\(HTMLText.escape(text))</span>"
    }

    /// The figures a page (or a browser's dump of it) shows: data-key → text.
    /// The tests read a report back with it; so can a script.
    public static func figures(in html: String) -> [String: String] {
        var found: [String: String] = [:]
        var rest = html[...]
        while let range = rest.range(of: "data-key=\"") {
            let tail = rest[range.upperBound...]
            guard let quote = tail.firstIndex(of: "\""), let close = tail.firstIndex(of: "<"), quote < close else { break }
            found[String(tail[..<quote])] = String(tail[tail.index(after: tail.index(after: quote))..<close])
            rest = tail[close...]
        }
        return found
    }

    static func micros(_ value: UInt64) -> String {
        value >= 1_000_000 ? LoadReport.fixed(Double(value) / 1e6, 1) + " s" : value >= 1000 ? SVGChart.trimmed(Double(value) / 1000) + " ms" : "\(value) µs"
    }
}
