import Foundation
import Testing

/// The Grafana dashboard and the Prometheus alert rules against the metrics
/// a gateway really exports: every metric they name is in a scrape of a
/// freshly started gateway after a short fault-free run (labelled series are
/// created at 0), the rules pass `promtool check rules`, and each alert's
/// unit tests pass `promtool test rules` (Debian's prometheus package).
@Suite(.serialized) struct MonitoringTests {
    static let promtool = "/usr/bin/promtool"
    static let rules = TestEnvironment.packageRoot + "/Config/prometheus/citygate-rules.yml"
    static let ruleTests = TestEnvironment.packageRoot + "/Tests/prometheus/citygate-rules.test.yml"
    static let dashboard = TestEnvironment.packageRoot + "/Config/grafana/citygate.json"

    /// The metric names a text uses: `citygate_…` and `process_…` words.
    static func metricNames(in text: String) -> Set<String> {
        var names: Set<String> = []
        for prefix in ["citygate_", "process_"] {
            var rest = text[...]
            while let range = rest.range(of: prefix) {
                let start = range.lowerBound
                // Part of a longer word (a file name such as "citygate-rules") is not a metric.
                if start > text.startIndex, let before = text[text.index(before: start)...].first,
                   before.isLetter || before.isNumber || before == "_" || before == "-" {
                    rest = text[range.upperBound...]
                    continue
                }
                let word = text[start...].prefix { $0.isLowercase || $0.isNumber || $0 == "_" }
                names.insert(String(word))
                rest = text[range.upperBound...]
            }
        }
        return names
    }

    @Test func everyMetricTheDashboardAndTheRulesUseIsExported() async throws {
        let directory = try TestEnvironment.temporaryDirectory("monitoring")
        let broker = try await Broker(directory: directory)
        let gateway = try await GatewayProcess(broker: broker, directory: directory)
        _ = try await runSimulator(["--broker", broker.url, "--count", "20", "--rate", "40"], directory: directory)
        try await gateway.waitFor("20 uplinks decoded", timeout: .seconds(30)) {
            let status = try gateway.status()
            return status["uplinks_stored"] as? Int == 20 && status["uplinks_pending"] as? Int == 0
        }
        let exported = Set(try await gateway.metrics().keys.map { String($0.prefix { $0 != "{" }) })

        let dashboardText = try String(contentsOfFile: Self.dashboard, encoding: .utf8)
        let rulesText = try String(contentsOfFile: Self.rules, encoding: .utf8)
        let used = Self.metricNames(in: dashboardText).union(Self.metricNames(in: rulesText))
        #expect(used.count >= 20, "the dashboard and the rules name \(used.count) metrics")
        let missing = used.subtracting(exported).sorted()
        #expect(missing.isEmpty, "named by the dashboard or the rules, not exported: \(missing)")

        // Labelled series exist before anything happened to them.
        for series in ["citygate_uplinks_quarantined_total{reason=\"unknown_device\"}", "citygate_delivery_errors_total{hub=\"file\",kind=\"refused_row\"}",
                       "citygate_readings_stored_total{kind=\"parking\"}", "citygate_frame_counter_gaps_total{kind=\"damp\"}",
                       "citygate_hub_reconciled_total{hub=\"file\",outcome=\"held\"}"] {
            #expect(try await gateway.metrics()[series] != nil, "\(series) is not created at start")
        }
        // The deprecated name says so, and the new one carries the kind.
        let scrape = String(decoding: await TestEnvironment.get("http://127.0.0.1:\(gateway.httpPort)/metrics")?.body ?? Data(), as: UTF8.self)
        #expect(scrape.contains("# HELP citygate_readings_by_kind_total DEPRECATED"))
        #expect(try await gateway.metric("citygate_readings_stored_total") == (try await gateway.metric("citygate_readings_by_kind_total")))
        #expect(try await gateway.metric("citygate_devices_registered") == 5)
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }

    @Test func theDashboardIsImportableWithItsVariables() throws {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.dashboard))) as? [String: Any])
        let variables = try #require((object["templating"] as? [String: Any])?["list"] as? [[String: Any]])
        #expect(variables.contains { $0["name"] as? String == "datasource" && $0["type"] as? String == "datasource" })
        #expect(variables.contains { $0["name"] as? String == "instance" && $0["type"] as? String == "query" })
        let panels = try #require(object["panels"] as? [[String: Any]]).filter { $0["type"] as? String != "row" }
        #expect(panels.count >= 12)
        for panel in panels {
            #expect((panel["datasource"] as? [String: Any])?["uid"] as? String == "${datasource}", "\(panel["title"] ?? "")")
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                let expr = target["expr"] as? String ?? ""
                #expect(expr.contains("$instance"), "\(panel["title"] ?? ""): \(expr) ignores the instance variable")
            }
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: promtool)))
    func theRulesPassPromtoolAndTheirUnitTests() throws {
        let check = try capture(Self.promtool, ["check", "rules", Self.rules])
        #expect(check.status == 0, "\(String(decoding: check.output, as: UTF8.self))")
        let test = try capture(Self.promtool, ["test", "rules", Self.ruleTests])
        #expect(test.status == 0, "\(String(decoding: test.output, as: UTF8.self))")
        // One unit test or more per alert.
        let rules = try String(contentsOfFile: Self.rules, encoding: .utf8)
        let tests = try String(contentsOfFile: Self.ruleTests, encoding: .utf8)
        let alerts = rules.split(separator: "\n").compactMap { line -> String? in
            let text = line.trimmingCharacters(in: .whitespaces)
            return text.hasPrefix("- alert: ") ? String(text.dropFirst("- alert: ".count)) : nil
        }
        #expect(alerts.count == 8)
        for alert in alerts { #expect(tests.contains("alertname: \(alert)"), "\(alert) has no unit test") }
    }
}
