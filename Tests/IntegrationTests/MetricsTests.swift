import Foundation
import Readings
import Testing

/// `/metrics` scraped and parsed as Prometheus does, and the figures it
/// gives for a known sequence of uplinks; silent devices in `citygate status`.
@Suite(.serialized) struct MetricsTests {
    /// Stamped 40 ms before it is published, as a network server stamps its uplinks.
    static func uplink(_ fCnt: Int) -> String {
        let time = RFC3339.format(Int64(Date().timeIntervalSince1970 * 1000) - 40)
        return #"{"deviceInfo":{"devEui":"a840410000000501"},"fCnt":\#(fCnt),"fPort":1,"time":"\#(time)","data":"AWcA/w=="}"#
    }

    @Test func metricsFollowPrometheusConventionsAndCountWhatHappened() async throws {
        let directory = try TestEnvironment.temporaryDirectory("metrics")
        let broker = try await Broker(directory: directory)
        let shipped = try String(contentsOfFile: TestEnvironment.packageRoot + "/Config/devices.toml", encoding: .utf8)
        // The Cayenne node reports every second here, so it is silent soon after it stops.
        try shipped.replacingOccurrences(of: "codec = \"cayenne-lpp\"", with: "codec = \"cayenne-lpp\"\ninterval = \"1s\"")
            .write(toFile: directory + "/devices.toml", atomically: true, encoding: .utf8)
        try """
            [gateway]
            device_registry = "devices.toml"
            codec_directory = "\(TestEnvironment.packageRoot)/Config/codecs"
            silent_after_intervals = 2
            [store]
            # Not longer than the 1 s interval (a config error otherwise).
            uncounted_duplicate_window = "1s"
            """.write(toFile: directory + "/citygate.toml", atomically: true, encoding: .utf8)
        let gateway = try await GatewayProcess(broker: broker, directory: directory, config: directory + "/citygate.toml")
        let topic = "application/app/device/a840410000000501/event/up"
        for fCnt in [1, 2, 5] { try broker.publish(topic: topic, message: Self.uplink(fCnt)) }  // 3 and 4 never came
        try broker.publish(topic: topic, message: "{not json")
        try await gateway.waitFor("4 uplinks processed", timeout: .seconds(20)) {
            let status = try gateway.status()
            return status["uplinks_stored"] as? Int == 4 && status["uplinks_pending"] as? Int == 0
        }

        guard let response = await TestEnvironment.get("http://127.0.0.1:\(gateway.httpPort)/metrics"), response.status == 200 else {
            Issue.record("GET /metrics failed")
            return
        }
        let text = String(decoding: response.body, as: UTF8.self)
        var types: [String: String] = [:]
        var samples: [String: Double] = [:]
        let name = try Regex("^[a-zA-Z_:][a-zA-Z0-9_:]*$")
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                #expect(parts.count == 4, "\(line)")
                types[String(parts[2])] = String(parts[3])
            } else if !line.hasPrefix("#") {
                let parts = line.split(separator: " ")
                #expect(parts.count == 2 && Double(parts[1]) != nil, "sample line: \(line)")
                samples[String(parts[0])] = Double(parts[1]) ?? .nan
                let metric = String(parts[0].split(separator: "{")[0])
                #expect(metric.wholeMatch(of: name) != nil, "\(metric)")
            }
        }
        for (metric, type) in types {
            // Ours, or the standard process metrics every Prometheus client exports.
            #expect(metric.hasPrefix("citygate_") || ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                                                       "process_start_time_seconds"].contains(metric), "\(metric)")
            switch type {
            case "counter": #expect(metric.hasSuffix("_total"), "counter \(metric) must end in _total")
            case "histogram": #expect(samples.keys.contains { $0.hasPrefix(metric + "_bucket{") } && samples[metric + "_count"] != nil, "\(metric)")
            default: #expect(!metric.hasSuffix("_total"), "a \(type) named like a counter: \(metric)")
            }
        }
        #expect(samples["citygate_frame_counter_gaps_total{kind=\"generic\"}"] == 2, "fCnt 3 and 4 never came")
        #expect(samples["citygate_uplinks_processed_total{envelope=\"chirpstack\"}"] == 4)
        #expect(samples["citygate_readings_by_kind_total{kind=\"generic\"}"] == 3)
        #expect(samples["citygate_uplinks_quarantined_total{reason=\"malformed_json\"}"] == 1)
        #expect(samples["citygate_store_commit_seconds_count"] == 4)
        #expect(samples["citygate_uplink_ingest_latency_seconds_count"] == 3, "one per decoded uplink with an envelope time")
        #expect(samples["citygate_uplink_ingest_latency_seconds_bucket{le=\"0.025\"}"] == 0, "stamped 40 ms before publishing")
        #expect(samples["citygate_uplink_ingest_latency_seconds_bucket{le=\"+Inf\"}"] == 3)
        #expect(samples["citygate_mqtt_connected"] == 1)
        #expect(types["citygate_hub_backlog"] == "gauge" && types["citygate_hub_lag_seconds"] == "gauge")
        // The process, read from /proc, and the build (issue 18, item 4).
        #expect((samples["process_resident_memory_bytes"] ?? 0) > Double(4 << 20) && (samples["process_open_fds"] ?? 0) >= 3)
        #expect((samples["process_cpu_seconds_total"] ?? 0) > 0)
        let started = samples["process_start_time_seconds"] ?? 0
        #expect(abs(started - Date().timeIntervalSince1970) < 600, "started minutes ago at most: \(started)")
        let commit = String(decoding: try capture("/usr/bin/git", ["-C", TestEnvironment.packageRoot, "rev-parse", "--short", "HEAD"]).output,
                            as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let build = samples.keys.first { $0.hasPrefix("citygate_build_info{") } ?? ""
        #expect(build.contains("version=\"0.2.0\"") && build.contains("commit=\"\(commit.isEmpty ? "unknown" : commit)\""), "\(build)")

        // Liveness and readiness apart.
        #expect(await TestEnvironment.get("http://127.0.0.1:\(gateway.httpPort)/health")?.status == 200)
        #expect(await TestEnvironment.get("http://127.0.0.1:\(gateway.httpPort)/health/ready")?.status == 200)

        // Silent: two of its 1 s intervals without an uplink; the rest of the district never reported.
        try await Task.sleep(for: .seconds(3))
        let run = try capture(TestEnvironment.citygate, ["status", "--config", directory + "/citygate.toml", "--database", gateway.database, "--json"])
        let status = try #require(try JSONSerialization.jsonObject(with: run.output) as? [String: Any])
        let silent = status["silent_devices"] as? [[String: Any]] ?? []
        #expect(silent.map { $0["id"] as? String } == ["a840410000000501"], "\(silent)")
        #expect(silent.first?["expected_interval"] as? String == "PT1S")
        #expect(status["never_seen_devices"] as? Int == 4)
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }
}
