import BuildInfo
import FoundationEssentials
import Readings
import Uplink

/// The status page (`/`): server-rendered HTML from the same `LiveStatus`
/// as `/api/status`. No scripts and no external assets (an edge box often
/// has no internet); it refreshes itself every 5 s, reads on a phone, puts
/// problems first in words, and pages and filters the device table (by
/// kind, zone, silent) with plain GET parameters, so 10,000 devices stay
/// usable. Elements the browser test reads carry ids (`uplinks-stored`,
/// `hub-NAME-backlog`).
public enum StatusPage {
    public static let devicesPerPage = 50

    /// One row of the device table.
    struct DeviceRow {
        var id: DeviceID
        var name: String?
        var kind: String
        var zone: String?
        var uplinks: Int64?
        var lastSeen: EpochMillis?
        var silent: Bool
    }

    static func rows(_ report: StatusReport) -> [DeviceRow] {
        let silent = Set(report.silent.map(\.device))
        var rows: [DeviceRow] = report.registry.devices.values.map { device in
            DeviceRow(id: device.id, name: device.name, kind: device.kind.rawValue, zone: device.zone,
                      uplinks: report.activity[device.id]?.uplinks, lastSeen: report.activity[device.id]?.lastSeen,
                      silent: silent.contains(device.id))
        }
        rows += report.unregistered.map { id in
            DeviceRow(id: id, name: nil, kind: "unregistered", zone: nil, uplinks: report.activity[id]?.uplinks,
                      lastSeen: report.activity[id]?.lastSeen, silent: false)
        }
        // Silent first, then by id: what needs a look comes first.
        return rows.sorted { ($0.silent ? 0 : 1, $0.id) < ($1.silent ? 0 : 1, $1.id) }
    }

    public static func html(_ status: LiveStatus, query: [String: String]) -> String {
        let report = status.report
        let statistics = report.statistics
        var page = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="refresh" content="5">
            <title>citygate \(HTMLText.escape(BuildInfo.version))</title>
            <style>
            \(HTMLText.sharedStyle)
            .scroll{overflow-x:auto}
            table{border-collapse:collapse;width:100%;background:#fff;font-size:14px}
            th,td{border-bottom:1px solid #e5e8eb;padding:4px 6px;text-align:left;white-space:nowrap}
            td.n,th.n{text-align:right}.bad{color:#b42318;font-weight:600}
            form{margin:6px 0}select,button{font-size:14px;margin:2px}
            </style></head><body>
            <h1>citygate</h1>
            <div class="meta">version \(HTMLText.escape(BuildInfo.version)) (\(HTMLText.escape(BuildInfo.commit))), up \(duration(status.now - status.startedAt)),
            page made \(HTMLText.escape(RFC3339.format(status.now)))</div>

            """
        let problems = status.problems
        if problems.isEmpty {
            page += "<div class=\"ok\" id=\"problems\">No problems: broker connected, intake running, hubs delivering.</div>\n"
        } else {
            page += "<div class=\"problems\" id=\"problems\"><b>\(problems.count == 1 ? "1 problem" : "\(problems.count) problems")</b><ul>"
            page += problems.map { "<li>\(HTMLText.escape($0))</li>" }.joined() + "</ul></div>\n"
        }
        func card(_ id: String, _ label: String, _ value: String) -> String {
            "<div class=\"card\">\(HTMLText.escape(label))<b id=\"\(id)\">\(HTMLText.escape(value))</b></div>"
        }
        page += "<div class=\"cards\">"
        page += card("uplinks-stored", "uplinks stored", "\(statistics.uplinksStored)")
        page += card("uplinks-pending", "waiting to decode", "\(statistics.uplinksPending)")
        page += card("readings-stored", "readings", "\(statistics.readingsStored)")
        page += card("quarantined", "quarantined", "\(statistics.quarantined)")
        page += card("broker", "broker", status.broker.connected ? "connected" : "DOWN")
        page += card("intake", "intake", status.intakePausedBecause == nil ? "running" : "PAUSED")
        let bound = status.storeBoundBytes.map { " of \(megabytes($0))" } ?? " (no bound)"
        page += card("store", "store used", megabytes(status.storeUsedBytes) + bound)
        page += card("silent", "silent devices", "\(report.silent.count) of \(report.registry.count)")
        page += "</div>\n"

        page += "<h2>Hubs</h2><div class=\"scroll\"><table><tr><th>hub</th><th>kind</th><th class=\"n\">backlog</th><th class=\"n\">in flight</th><th class=\"n\">delivered</th><th class=\"n\">dead letters</th><th>lag</th><th>last error</th></tr>"
        for hub in status.hubs {
            let ledger = status.ledger(hub.name)
            let lag = ledger?.oldestUndelivered.map { duration(max(0, status.now - $0)) } ?? "-"
            let id = htmlID(hub.name)
            page += "<tr><td>\(HTMLText.escape(hub.name))\(hub.live.authPaused ? " <span class=\"bad\">auth paused</span>" : "")</td>"
            page += "<td>\(HTMLText.escape(hub.kind))\(hub.isPrivate ? " (private)" : "")</td>"
            page += "<td class=\"n\" id=\"hub-\(id)-backlog\">\(ledger?.backlog ?? 0)</td><td class=\"n\">\(hub.live.inFlight)</td>"
            page += "<td class=\"n\" id=\"hub-\(id)-delivered\">\(ledger?.delivered ?? 0)</td>"
            page += "<td class=\"n\(ledger?.deadLettered ?? 0 > 0 ? " bad" : "")\">\(ledger?.deadLettered ?? 0)</td><td>\(lag)</td>"
            page += "<td>\(HTMLText.escape(hub.live.lastError ?? ""))</td></tr>"
        }
        page += "</table></div>\n"

        page += "<h2>Broker</h2><div class=\"meta\">\(HTMLText.escape(status.broker.url)): \(HTMLText.escape(status.broker.detail)); topics "
        page += status.broker.subscriptions.map { "\(HTMLText.escape($0.topic)) (\(HTMLText.escape($0.envelope)))" }.joined(separator: ", ") + "</div>\n"

        page += devices(report, query: query)

        page += "<h2>Quarantine</h2><div class=\"scroll\"><table><tr><th>reason</th><th class=\"n\">last hour</th><th class=\"n\">total</th></tr>"
        for reason in status.quarantine.total.keys.sorted() {
            page += "<tr><td>\(HTMLText.escape(reason))</td><td class=\"n\">\(status.quarantine.lastHour[reason] ?? 0)</td><td class=\"n\">\(status.quarantine.total[reason] ?? 0)</td></tr>"
        }
        page += "</table></div><h2>Newest quarantined uplinks</h2><div class=\"scroll\"><table><tr><th class=\"n\">uplink</th><th>time</th><th>device</th><th>reason</th></tr>"
        for entry in status.quarantine.newest {
            page += "<tr><td class=\"n\">\(entry.uplinkID)</td><td>\(HTMLText.escape(RFC3339.format(entry.lastSeen)))</td><td>\(HTMLText.escape(entry.device ?? "-"))</td><td>\(HTMLText.escape(entry.reason))</td></tr>"
        }
        page += "</table></div>\n<p class=\"meta\">The same figures as JSON: <a href=\"/api/status\">/api/status</a>; Prometheus: <a href=\"/metrics\">/metrics</a>.</p>\n</body></html>\n"
        return page
    }

    /// The device table: filtered by `kind`, `zone` and `silent=1`, `devicesPerPage` a page.
    static func devices(_ report: StatusReport, query: [String: String]) -> String {
        let all = rows(report)
        let kind = query["kind"].flatMap { $0.isEmpty ? nil : $0 }
        let zone = query["zone"].flatMap { $0.isEmpty ? nil : $0 }
        let silentOnly = query["silent"] == "1"
        let shown = all.filter { (kind == nil || $0.kind == kind) && (zone == nil || $0.zone == zone) && (!silentOnly || $0.silent) }
        let pages = max(1, (shown.count + devicesPerPage - 1) / devicesPerPage)
        let page = min(max(1, Int(query["page"] ?? "") ?? 1), pages)
        func options(_ values: [String], _ selected: String?) -> String {
            (["<option value=\"\">all</option>"] + values.map { "<option\($0 == selected ? " selected" : "")>\(HTMLText.escape($0))</option>" }).joined()
        }
        var html = "<h2>Devices</h2><form method=\"get\" action=\"/\">kind <select name=\"kind\">"
        html += options(Array(Set(all.map(\.kind))).sorted(), kind) + "</select> zone <select name=\"zone\">"
        html += options(Array(Set(all.compactMap(\.zone))).sorted(), zone) + "</select>"
        html += "<label><input type=\"checkbox\" name=\"silent\" value=\"1\"\(silentOnly ? " checked" : "")> silent only</label> <button>show</button></form>"
        html += "<div class=\"meta\" id=\"device-count\">\(shown.count) of \(all.count) devices; page \(page) of \(pages)</div>"
        html += "<div class=\"scroll\"><table id=\"devices\"><tr><th>device</th><th>name</th><th>kind</th><th>zone</th><th class=\"n\">uplinks</th><th>last seen</th></tr>"
        for row in shown.dropFirst((page - 1) * devicesPerPage).prefix(devicesPerPage) {
            html += "<tr><td>\(HTMLText.escape(row.id))\(row.silent ? " <span class=\"bad\">silent</span>" : "")</td><td>\(HTMLText.escape(row.name ?? ""))</td>"
            html += "<td>\(HTMLText.escape(row.kind))</td><td>\(HTMLText.escape(row.zone ?? ""))</td><td class=\"n\">\(row.uplinks.map(String.init) ?? "-")</td>"
            html += "<td>\(row.lastSeen.map { HTMLText.escape(RFC3339.format($0)) } ?? "never")</td></tr>"
        }
        html += "</table></div>"
        if pages > 1 {
            func link(_ target: Int, _ label: String) -> String {
                var parameters = ["page=\(target)"]
                if let kind { parameters.append("kind=\(percent(kind))") }
                if let zone { parameters.append("zone=\(percent(zone))") }
                if silentOnly { parameters.append("silent=1") }
                return "<a href=\"/?\(parameters.joined(separator: "&amp;"))\">\(label)</a>"
            }
            html += "<p>" + (page > 1 ? link(page - 1, "previous") + " " : "") + (page < pages ? link(page + 1, "next") : "") + "</p>"
        }
        return html + "\n"
    }

    static func htmlID(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" })
    }

    static func percent(_ text: String) -> String {
        PercentEncoding.encode(text, allowing: PercentEncoding.alphanumerics)
    }

    static func megabytes(_ bytes: Int64) -> String {
        bytes >= 1 << 20 ? "\(bytes >> 20) MiB" : "\(bytes >> 10) KiB"
    }

    static func duration(_ millis: EpochMillis) -> String {
        let seconds = millis / 1000
        if seconds < 120 { return "\(seconds) s" }
        if seconds < 7200 { return "\(seconds / 60) min" }
        if seconds < 172_800 { return "\(seconds / 3600) h" }
        return "\(seconds / 86_400) d"
    }
}
