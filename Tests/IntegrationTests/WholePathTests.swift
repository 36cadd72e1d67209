import Foundation
import Readings
import Testing

/// simulator → mosquitto → citygate → SQLite → SensorThings server, all real.
@Suite(.serialized) struct WholePathTests {
    /// One aggregate as this test computes it from what the simulator sent.
    struct Expected {
        var count = 0
        var minimum = Int64.max
        var maximum = Int64.min
        var sum: Int128 = 0
        var last: (time: Int64, value: Int64) = (Int64.min, 0)
        var decimals = 0

        mutating func add(_ value: Int64, at time: Int64) {
            count += 1
            minimum = min(minimum, value)
            maximum = max(maximum, value)
            sum += Int128(value)
            if time >= last.time { last = (time, value) }
        }

        /// Mean rounded half away from zero, computed here independently.
        var mean: Int64 { independentMean(sum: sum, count: count) }

        func text(_ value: Int64) -> String { FixedPoint.decimalString(value, decimals: decimals) }
    }

    static func isoSeconds(_ millis: Int64) -> String {
        RFC3339.format(millis)
    }

    @Test func simulatedUplinksReachTheHubAsExactAggregates() async throws {
        let directory = try TestEnvironment.temporaryDirectory("wholepath")
        let broker = try await Broker(directory: directory)
        let hub = try await SensorThingsServer(directory: directory)
        let window: Int64 = 2000
        // django-ogc-sensorthings takes phenomenonTime instants only (README "Hubs").
        let config = try TestConfig.shipped(directory, """
            [[hub]]
            name = "opendata"
            kind = "sensorthings"
            url = "\(hub.serviceRoot)"
            phenomenon_time = "instant"
            """)
        let gateway = try await GatewayProcess(broker: broker, directory: directory, extra: ["--window", "2s"], config: config)
        let count = 60
        _ = try await runSimulator(["--broker", broker.url, "--count", "\(count)", "--rate", "60", "--manifest", directory + "/manifest.ndjson"],
                                   directory: directory)

        // Everything sent is stored as an uplink, and every value as a reading.
        let manifest = try String(contentsOfFile: directory + "/manifest.ndjson", encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(manifest.count == count)
        // Every value the simulator encoded, plus what the gateway derives for
        // each damp frame (dew point and mould risk).
        let dampFrames = manifest.filter { $0["kind"] as? String == "damp" }.count
        let valueCount = manifest.reduce(0) { $0 + ($1["values"] as! [[String: Any]]).count } + 2 * dampFrames
        try await gateway.waitFor("all uplinks stored", timeout: .seconds(30)) {
            let status = try gateway.status()
            return status["uplinks_stored"] as? Int == count && status["uplinks_pending"] as? Int == 0
        }
        let status = try gateway.status()
        #expect(status["readings_stored"] as? Int == valueCount)
        #expect(status["duplicates"] as? Int == 0)
        #expect(status["quarantined"] as? Int == 0)

        // Aggregates the test computes itself, per window key; damp sensors
        // are per-home data and must not reach this public hub.
        var expected: [String: Expected] = [:]
        var dampDevices: Set<String> = []
        for frame in manifest {
            let device = frame["device"] as! String
            let time = (frame["timeMs"] as! NSNumber).int64Value
            if frame["kind"] as? String == "damp" { dampDevices.insert(device); continue }
            let start = time - time % window
            for value in frame["values"] as! [[String: Any]] {
                let metricName = value["metric"] as! String
                let metric = try #require(Metric.named(metricName))
                let channel = value["channel"] as? Int
                let series = channel.map { "\(metricName).\($0)" } ?? metricName
                let key = "\(device)/\(series)/\(Self.isoSeconds(start))/PT2S"
                expected[key, default: Expected(decimals: metric.decimals)].add((value["value"] as! NSNumber).int64Value, at: time)
            }
        }
        #expect(!expected.isEmpty && !dampDevices.isEmpty)

        // Zone roll-ups are checked in HubDeliveryTests; here only that the
        // lone home's zone (one home, under k = 5) never reaches this public hub.
        var observations: [[String: Any]] = []
        var rollups: [String] = []
        try await gateway.waitFor("\(expected.count) observations at the hub", timeout: .seconds(60)) {
            // The ledger first, then the hub: what the ledger calls delivered is at the hub when read.
            let database = try SQLiteRows(path: gateway.database)
            let settled = try database.strings("SELECT count(*) FROM aggregates WHERE rollup_pending = 1") == ["0"]
                && database.strings("SELECT count(*) FROM deliveries WHERE state <> 2") == ["0"]
            let all = try await hub.observations()
            func key(_ o: [String: Any]) -> String { (o["parameters"] as? [String: Any])?["windowKey"] as? String ?? "" }
            observations = all.filter { !key($0).hasPrefix("zone:") }
            rollups = all.map(key).filter { $0.hasPrefix("zone:") }
            return settled && observations.count >= expected.count
        }
        #expect(observations.count == expected.count, "each window exactly once")
        #expect(!rollups.isEmpty && !rollups.contains { $0.contains(":damp/") }, "\(rollups.filter { $0.contains(":damp/") })")
        var seen: Set<String> = []
        for observation in observations {
            let parameters = try #require(observation["parameters"] as? [String: Any])
            let key = try #require(parameters["windowKey"] as? String)
            #expect(seen.insert(key).inserted, "window \(key) delivered twice")
            #expect(!dampDevices.contains { key.hasPrefix($0) }, "per-home damp value reached a public hub: \(key)")
            guard let want = expected[key] else { Issue.record("unexpected window \(key)"); continue }
            #expect((observation["result"] as? NSNumber)?.doubleValue == Double(want.text(want.mean)), "mean of \(key)")
            #expect((parameters["count"] as? NSNumber)?.intValue == want.count, "count of \(key)")
            #expect((parameters["min"] as? NSNumber)?.doubleValue == Double(want.text(want.minimum)), "min of \(key)")
            #expect((parameters["max"] as? NSNumber)?.doubleValue == Double(want.text(want.maximum)), "max of \(key)")
            #expect((parameters["last"] as? NSNumber)?.doubleValue == Double(want.text(want.last.value)), "last of \(key)")
        }
        #expect(try await gateway.metric("citygate_uplinks_received_total") == Double(count))
        #expect(try await gateway.metric("citygate_readings_stored_total") == Double(valueCount))
        // Revisions count as deliveries too (a zone roll-up revised when a device's window closed after it).
        #expect(try await gateway.metric("citygate_aggregates_forwarded_total") >= Double(expected.count + rollups.count))

        // SIGTERM: clean exit, status 0, well within 10 s.
        let started = ContinuousClock.now
        #expect(await gateway.process.stop() == 0)
        #expect(ContinuousClock.now - started < .seconds(10))
        hub.process.forceStop()
        broker.process.forceStop()
    }

    @Test func badInputIsQuarantinedAndTheDaemonKeepsRunning() async throws {
        let directory = try TestEnvironment.temporaryDirectory("badinput")
        let broker = try await Broker(directory: directory)
        let gateway = try await GatewayProcess(broker: broker, directory: directory, extra: ["--window", "2s"])
        let known = "a840410000000301"  // Bosch TPS110 in the shipped registry
        // 1. Malformed JSON on an uplink topic.
        try broker.publish(topic: "application/app/device/\(known)/event/up", message: "{\"deviceInfo\": {")
        // 2. A known device whose payload its codec cannot decode (fPort 9 has no TPS110 layout).
        try broker.publish(topic: "application/app/device/\(known)/event/up",
                           message: #"{"deviceInfo":{"devEui":"\#(known)"},"fCnt":1,"fPort":9,"data":"AQ=="}"#)
        // 3. A device that is not in the registry.
        try broker.publish(topic: "application/app/device/ffffffffffffffff/event/up",
                           message: #"{"deviceInfo":{"devEui":"ffffffffffffffff"},"fCnt":1,"fPort":1,"data":"AQ=="}"#)
        // 4. A join event: recognised, not garbage.
        try broker.publish(topic: "application/app/device/\(known)/event/join", message: #"{"deviceInfo":{"devEui":"\#(known)"}}"#)
        // 5. A good uplink after all that.
        let good = #"{"deduplicationId":"6f1a0c3e-0000-4000-8000-000000000001","deviceInfo":{"devEui":"\#(known)"},"fCnt":2,"fPort":1,"data":"AQ=="}"#
        try broker.publish(topic: "application/app/device/\(known)/event/up", message: good)
        // 6. The same message published again (a new publish with its own packet
        //    id, not a broker redelivery: stored) and another copy of the same
        //    LoRaWAN frame (another deduplicationId, same fCnt): both are copies
        //    of the frame. (Broker redeliveries: CrashTests, CommitFailureTests.)
        try broker.publish(topic: "application/app/device/\(known)/event/up", message: good)
        try broker.publish(topic: "application/app/device/\(known)/event/up",
                           message: #"{"deduplicationId":"6f1a0c3e-0000-4000-8000-000000000002","deviceInfo":{"devEui":"\#(known)"},"fCnt":2,"fPort":1,"data":"AQ=="}"#)

        try await gateway.waitFor("every uplink processed", timeout: .seconds(30)) {
            let status = try gateway.status()
            return status["uplinks_stored"] as? Int == 5 && status["duplicates"] as? Int == 2 && status["uplinks_pending"] as? Int == 0
        }
        let status = try gateway.status()
        #expect(status["quarantined"] as? Int == 3)
        #expect(status["readings_stored"] as? Int == 1)
        let metrics = try await gateway.metrics()
        #expect(metrics["citygate_uplinks_quarantined_total{reason=\"malformed_json\"}"] == 1)
        #expect(metrics["citygate_uplinks_quarantined_total{reason=\"unsupported_port\"}"] == 1)
        #expect(metrics["citygate_uplinks_quarantined_total{reason=\"unknown_device\"}"] == 1)
        #expect(metrics["citygate_network_events_total{type=\"join\"}"] == 1)
        #expect(metrics["citygate_uplinks_duplicate_total{stage=\"redelivery\"}"] == 0)
        #expect(metrics["citygate_uplinks_duplicate_total{stage=\"frame\"}"] == 2)
        #expect(metrics["citygate_uplinks_received_total"] == 7)
        #expect(gateway.process.isRunning)
        // status names devices from the registry, in the same order in text and JSON.
        let devices = try gateway.status()["devices"] as? [String: [String: Any]] ?? [:]
        #expect(devices[known]?["name"] as? String == "spot-gran-via-12" && devices[known]?["kind"] as? String == "parking")
        let text = String(decoding: try capture(TestEnvironment.citygate, ["status", "--database", gateway.database]).output, as: UTF8.self)
        #expect(text.contains("device \(known) \"spot-gran-via-12\": "), "\(text)")
        let textOrder = text.split(separator: "\n").filter { $0.hasPrefix("device ") }.map { String($0.split(separator: " ")[1]).trimmingCharacters(in: CharacterSet(charactersIn: ":")) }
        #expect(textOrder == devices.keys.sorted(), "\(textOrder)")
        // Outside journald every line starts with its UTC time.
        let firstLine = gateway.process.log.split(separator: "\n").first.map(String.init) ?? ""
        #expect(firstLine.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info citygate starting "#, options: .regularExpression) != nil, "\(firstLine)")

        // The quarantine rows keep the raw bytes and say why.
        let database = try SQLiteRows(path: gateway.database)
        let rows = try database.strings("SELECT q.category || '|' || q.reason || '|' || length(m.message) FROM quarantine q JOIN uplink_messages m ON m.uplink_id = q.uplink_id ORDER BY q.id")
        #expect(rows.count == 3)
        #expect(rows[0].hasPrefix("malformed_json|chirpstack envelope: malformed JSON"))
        #expect(rows[1].hasPrefix("unsupported_port|bosch-tps110"))
        #expect(rows[2].hasPrefix("unknown_device|device ffffffffffffffff is not in the device registry"))
        // Every log line about a quarantined uplink names its uplink id.
        let quarantineLines = gateway.process.log.split(separator: "\n").filter { $0.contains("uplink quarantined") }
        #expect(quarantineLines.count == 3 && quarantineLines.allSatisfy { $0.contains("uplink=") })

        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }

    @Test func badConfigExits78() async throws {
        let directory = try TestEnvironment.temporaryDirectory("badconfig")
        try "[gateway]\nid = 5\nbogus = true\n".write(toFile: directory + "/citygate.toml", atomically: true, encoding: .utf8)
        try "".write(toFile: directory + "/devices.toml", atomically: true, encoding: .utf8)
        let check = try ManagedProcess(TestEnvironment.citygate, ["check-config", "--config", directory + "/citygate.toml"], directory: directory, logName: "check.log")
        #expect(await check.waitForExit(timeout: .seconds(20)) == 78)
        #expect(check.log.contains("citygate.toml:2: gateway.id: expected a string, found integer"))
        #expect(check.log.contains("citygate.toml:3: gateway.bogus: unknown key"))
        let run = try ManagedProcess(TestEnvironment.citygate, ["run", "--config", directory + "/citygate.toml"], directory: directory, logName: "run.log")
        #expect(await run.waitForExit(timeout: .seconds(20)) == 78)
        // A deeply nested file crashed check-config (the parser recursed without a limit).
        try ("a = " + String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000) + "\n")
            .write(toFile: directory + "/citygate.toml", atomically: true, encoding: .utf8)
        let deep = try ManagedProcess(TestEnvironment.citygate, ["check-config", "--config", directory + "/citygate.toml"], directory: directory, logName: "deep.log")
        #expect(await deep.waitForExit(timeout: .seconds(20)) == 78)
        #expect(deep.log.contains("citygate.toml:1: syntax: arrays or inline tables nested more than 32 deep"), "\(deep.log)")
    }
}
