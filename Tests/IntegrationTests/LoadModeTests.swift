import Foundation
import Readings
import SimulatorCore
import Testing

/// `citygate-sim load --json --metrics`: the report integrators script against.
@Suite(.serialized) struct LoadModeTests {
    @Test func loadReportsWhatTheGatewayStoredAndItsLatency() async throws {
        let directory = try TestEnvironment.temporaryDirectory("load")
        let broker = try await Broker(directory: directory)
        let config = try await TestConfig.fleet(directory, devices: 50, "")
        let gateway = try await GatewayProcess(broker: broker, directory: directory, config: config.path)
        let run = try capture(TestEnvironment.simulator, [
            "load", "--broker", broker.url, "--count", "2000", "--rate", "0", "--devices", "50", "--json",
            "--metrics", "http://127.0.0.1:\(gateway.httpPort)/metrics", "--drain-timeout", "60s"])
        #expect(run.status == 0)
        let report = try #require(try JSONSerialization.jsonObject(with: run.output) as? [String: Any], "\(String(decoding: run.output, as: UTF8.self))")
        #expect(report["sent"] as? Int == 2000 && report["acknowledged"] as? Int == 2000)
        #expect(report["loss"] as? Int == 0)
        #expect(((report["rate_per_s"] as? NSNumber)?.doubleValue ?? 0) > 0)
        let figures = try #require(report["gateway"] as? [String: Any])
        #expect(figures["stored"] as? Int == 2000 && figures["quarantined"] as? Int == 0)
        let latency = try #require(report["latency_ms"] as? [String: Any])
        for key in ["p50", "p90", "p99", "max"] { #expect(((latency[key] as? NSNumber)?.doubleValue ?? -1) >= 0, "\(key)") }
        // The gateway's own count agrees.
        #expect(try gateway.status()["uplinks_stored"] as? Int == 2000)
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }
}

extension LoadModeTests {
    @Test func theSimulatorRidesOutABrokerRestartAndNothingIsLost() async throws {
        let directory = try TestEnvironment.temporaryDirectory("load-restart")
        var broker = try await Broker(directory: directory, persistence: true)
        let config = try await TestConfig.fleet(directory, devices: 20, "")
        let gateway = try await GatewayProcess(broker: broker, directory: directory, config: config.path)
        let load = try ManagedProcess(TestEnvironment.simulator, [
            "load", "--broker", broker.url, "--count", "3000", "--rate", "600", "--devices", "20", "--json",
            "--metrics", "http://127.0.0.1:\(gateway.httpPort)/metrics", "--drain-timeout", "60s"], directory: directory, logName: "load.log")
        try await Task.sleep(for: .seconds(2))
        broker.process.signal(SIGTERM)
        // The new broker binds the same port: the old one must be gone first.
        #expect(await broker.process.waitForExit(timeout: .seconds(60)) != nil, "mosquitto exits on SIGTERM")
        broker = try await Broker(directory: directory, port: broker.port, persistence: true)
        #expect(await load.waitForExit(timeout: .seconds(120)) == 0, "\(load.log)")
        let json = try #require(load.log.split(separator: "\n").first { $0.hasPrefix("{") })
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(report["acknowledged"] as? Int == 3000, "every publish acknowledged in the end: \(json)")
        #expect(report["loss"] as? Int == 0, "\(json)")
        // Published while the broker was away, at QoS 1, is queued and sent
        // after the restart: not an error (it was counted as one, and never
        // as sent, so the report said 1,799 sent and 2,998 acknowledged).
        #expect(report["sent"] as? Int == 3000 && report["errors"] as? Int == 0, "\(json)")
        #expect(try gateway.status()["uplinks_stored"] as? Int == 3000)
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }
}

extension LoadModeTests {
    @Test func aScenarioWithFaultsLosesNothingAndTheGatewayCountsTheFaults() async throws {
        let directory = try TestEnvironment.temporaryDirectory("load-faults")
        let broker = try await Broker(directory: directory)
        try """
            name = "faulty"
            seed = 3
            [[group]]
            model = "bosch:tps110"
            count = 20
            [[group]]
            model = "dragino:lht65"
            count = 10
            [[group]]
            model = "cayenne-lpp"
            count = 5
            envelope = "tts"
            [[group]]
            model = "milesight:em300-th"
            count = 5
            envelope = "nbiot"
            [[group]]
            model = "milesight:em400-udl"
            count = 5
            envelope = "nbiot-hex"
            [[group]]
            model = "dragino:ldds75"
            count = 5
            [[group]]
            model = "nwave:nps405"
            count = 5
            [faults]
            fcnt_reset = 0.02
            copies = 0.1
            truncated = 0.05
            unknown_device = 0.05
            sentinel = 0.1
            out_of_range = 0.05
            out_of_order = 0.05
            burst = 0.02
            burst_size = 3
            """.write(toFile: directory + "/scenario.toml", atomically: true, encoding: .utf8)
        let registry = try capture(TestEnvironment.simulator, ["registry", "--scenario", directory + "/scenario.toml"])
        try registry.output.write(to: URL(fileURLWithPath: directory + "/devices.toml"))
        // The shipped subscriptions: ChirpStack, TTS and NB-IoT frames on nbiot/{IMEI}.
        try """
            [gateway]
            device_registry = "devices.toml"
            [[mqtt.subscription]]
            topic = "application/+/device/+/event/+"
            envelope = "chirpstack"
            [[mqtt.subscription]]
            topic = "v3/+/devices/+/up"
            envelope = "tts"
            [[mqtt.subscription]]
            topic = "nbiot/+"
            envelope = "nbiot"
            """.write(toFile: directory + "/citygate.toml", atomically: true, encoding: .utf8)
        let gateway = try await GatewayProcess(broker: broker, directory: directory, config: directory + "/citygate.toml")
        let run = try capture(TestEnvironment.simulator, [
            "load", "--broker", broker.url, "--scenario", directory + "/scenario.toml", "--count", "1500", "--json",
            "--metrics", "http://127.0.0.1:\(gateway.httpPort)/metrics"])
        let report = try #require(try JSONSerialization.jsonObject(with: run.output) as? [String: Any], "\(String(decoding: run.output, as: UTF8.self))")
        #expect(run.status == 0)
        let faults = report["faults"] as? [String: Int] ?? [:]
        let figures = report["gateway"] as? [String: Any] ?? [:]
        // A burst adds distinct frames beyond --count; an out-of-order frame is sent once, later.
        let frames = 1500 + (faults["burst_frames"] ?? 0)
        #expect(report["frames"] as? Int == frames && report["sent"] as? Int == frames + (faults["copies"] ?? 0) + (faults["join_events"] ?? 0), "\(report)")
        for fault in ["fcnt_reset", "sentinel", "out_of_range", "out_of_order", "burst"] { #expect((faults[fault] ?? 0) > 0, "\(fault): \(faults)") }
        #expect(report["loss"] as? Int == 0, "every distinct frame stored, faulty ones included")
        #expect(figures["stored"] as? Int == frames)
        #expect(figures["duplicates"] as? Int == faults["copies"], "each copy recognised as a duplicate frame, quarantined ones too")
        // Truncated frames may still decode (a shorter valid payload); unknown devices never do; an
        // out-of-range value is quarantined as implausible (a frame can carry two faults, counted once).
        let quarantined = figures["quarantined"] as? Int ?? 0
        let unknown = faults["unknown_device"] ?? 0, outOfRange = faults["out_of_range"] ?? 0
        #expect(quarantined >= max(unknown, outOfRange) && quarantined <= unknown + outOfRange + (faults["truncated"] ?? 0) + (faults["corrupt"] ?? 0), "\(faults) \(figures)")
        #expect(try await gateway.metric("citygate_uplinks_quarantined_total{reason=\"implausible\"}") > 0)
        // A sentinel is a reading the device could not take: the frame is kept, the value counted.
        #expect(try await gateway.metric("citygate_sentinel_values_total") >= Double(faults["sentinel"] ?? 0) / 2)
        // NB-IoT frames (raw and hex text) reached the gateway as their own envelope.
        #expect(try await gateway.metric("citygate_uplinks_processed_total{envelope=\"nbiot\"}") > 0)
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }
}

extension LoadModeTests {
    /// `run --speed`: the fleet's own schedule in compressed time; device
    /// timestamps follow simulated time and the run takes (about) the
    /// simulated span divided by the speed, never less.
    @Test func runWithSpeedPlaysSimulatedTimeCompressed() async throws {
        let directory = try TestEnvironment.temporaryDirectory("run-speed")
        let broker = try await Broker(directory: directory)
        let start = ContinuousClock.now
        // The demo district (5 devices, every 15 simulated minutes) at 7,200×: 40 frames = 8 rounds = 1h45 simulated, 0.875 s.
        let run = try capture(TestEnvironment.simulator, [
            "run", "--broker", broker.url, "--count", "40", "--speed", "7200", "--simulated-start", "2026-11-23T00:00:00Z",
            "--manifest", directory + "/manifest.jsonl"])
        let elapsed = ContinuousClock.now - start
        #expect(run.status == 0)
        #expect(elapsed >= .milliseconds(875), "paced by simulated time: \(elapsed)")
        let lines = try String(contentsOfFile: directory + "/manifest.jsonl", encoding: .utf8).split(separator: "\n")
        let times = try lines.map { line in
            try #require((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["timeMs"] as? Int)
        }
        #expect(times.count == 40)
        #expect(times.first == 1_795_392_000_000 && times.last == 1_795_392_000_000 + 7 * 900_000, "rounds every 15 simulated minutes")
        // --speed plays a schedule: it takes no --rate.
        #expect(try capture(TestEnvironment.simulator, ["run", "--broker", broker.url, "--speed", "10", "--rate", "5"]).status != 0)
        broker.process.forceStop()
    }
}

extension LoadModeTests {
    /// `load --report DIR` against a real gateway: report.html opens in a
    /// real browser (Debian's chromium, headless), every figure its DOM shows
    /// is the one report.json holds, the rate plot has a line per series with
    /// a point per sampled second, and the latency plots a bar per bucket.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: StatusPageTests.chromium)))
    func theLoadReportShowsInABrowserWhatItsJSONSays() async throws {
        let directory = try TestEnvironment.temporaryDirectory("load-report")
        let broker = try await Broker(directory: directory)
        let config = try await TestConfig.fleet(directory, devices: 20, "")
        let gateway = try await GatewayProcess(broker: broker, directory: directory, config: config.path)
        let reportDirectory = directory + "/report"
        let arguments = ["load", "--broker", broker.url, "--count", "4000", "--rate", "1000", "--devices", "20", "--report", reportDirectory,
                         "--metrics", "http://127.0.0.1:\(gateway.httpPort)/metrics", "--drain-timeout", "60s"]
        let run = try await offThePool { try capture(TestEnvironment.simulator, arguments) }
        let output = String(decoding: run.output, as: UTF8.self)
        #expect(run.status == 0, "\(output)")
        #expect(output.contains("citygate-sim: publish→PUBACK latency (HdrHistogram, 4000 messages): p50 "), "\(output)")

        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: reportDirectory + "/report.json"))) as? [String: Any])
        #expect(json["sent"] as? Int == 4000 && json["loss"] as? Int == 0)
        #expect((json["gateway"] as? [String: Any])?["stored"] as? Int == 4000)
        let perSecond = try #require(json["per_second"] as? [[String: Any]])
        // 4000 at 1000/s: about four seconds publishing, sampled once a second.
        #expect(perSecond.count >= 4, "\(perSecond.count) samples")
        let committed = perSecond.compactMap { ($0["committed"] as? NSNumber)?.doubleValue }
        #expect(committed.count == perSecond.count && committed.contains { $0 > 0 }, "gateway commit rate sampled: \(committed)")

        let dump = try await offThePool { try StatusPageTests.browser(["--dump-dom", "file://\(reportDirectory)/report.html"]) }
        let dom = String(decoding: dump.output, as: UTF8.self)
        #expect(dump.status == 0 && dom.contains("citygate-sim load report"), "\(dom.prefix(300))")
        let shown = LoadReportPage.figures(in: dom)
        for key in ["sent", "acknowledged", "loss", "rate_per_s", "gateway.stored", "gateway.quarantined",
                    "puback_latency_ms.p50", "puback_latency_ms.p99", "puback_latency_ms.max", "latency_ms.p50", "latency_ms.p99"] {
            #expect(shown[key] != nil, "\(key) is not in the DOM")
        }
        for (key, text) in shown {
            var current: Any? = json
            for step in key.split(separator: ".") { current = (current as? [String: Any])?[String(step)] }
            #expect((current as? NSNumber)?.doubleValue == Double(text), "\(key): DOM \(text), report.json \(String(describing: current))")
        }
        for series in ["published", "acknowledged", "gateway committed"] {
            #expect(dom.contains("data-series=\"\(series)\" data-points=\"\(perSecond.count)\""), "\(series) line with \(perSecond.count) points")
        }
        let bars = dom.components(separatedBy: "data-count=").count - 1
        let buckets = (json["puback_histogram"] as? [Any])?.count ?? -1, ingest = (json["ingest_histogram"] as? [Any])?.count ?? -1
        #expect(buckets > 0 && bars == buckets + ingest, "\(bars) bars for \(buckets) + \(ingest) buckets")

        let screenshot = directory + "/report-desktop.png"
        _ = try await offThePool { try StatusPageTests.browser(["--window-size=1000,1800", "--screenshot=\(screenshot)", "file://\(reportDirectory)/report.html"]) }
        #expect(try StatusPageTests.pngSize(screenshot) == (1000, 1800))
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }
}

extension LoadModeTests {
    /// `capture --simulated-start` (what `Benchmarks/path-cost.sh` takes for
    /// traffic that spans windows): frames carry the simulated clock, each
    /// device every 15 minutes from the start, not the time of writing.
    @Test func captureStampsFramesFromTheSimulatedStart() throws {
        let directory = try TestEnvironment.temporaryDirectory("capture")
        let file = directory + "/messages.txt"
        let run = try capture(TestEnvironment.simulator, [
            "capture", "--count", "9", "--devices", "3", "--simulated-start", "2026-03-01T10:00:00Z", "--output", file])
        #expect(run.status == 0)
        let times = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map { line -> Int64 in
            let message = try #require(Data(base64Encoded: String(line.split(separator: "\t")[1])))
            let event = try #require(try JSONSerialization.jsonObject(with: message) as? [String: Any])
            let time = try #require(event["time"] as? String)
            return try #require(RFC3339.parseMillis(time))
        }
        let start = try #require(RFC3339.parseMillis("2026-03-01T10:00:00Z"))
        #expect(times.count == 9)
        #expect(times.allSatisfy { $0 >= start && $0 < start + 3 * 900_000 }, "\(times)")
        #expect(Set(times.map { ($0 - start) / 900_000 }) == [0, 1, 2], "three rounds of three devices: \(times)")

        let refused = try capture(TestEnvironment.simulator, [
            "capture", "--count", "1", "--simulated-start", "yesterday", "--output", file])
        #expect(refused.status != 0, "a start that is not RFC 3339 is refused")
    }
}
