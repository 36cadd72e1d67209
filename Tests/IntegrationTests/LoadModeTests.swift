import Foundation
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
        _ = await broker.process.waitForExit(timeout: .seconds(10))
        broker = try await Broker(directory: directory, port: broker.port, persistence: true)
        #expect(await load.waitForExit(timeout: .seconds(120)) == 0, "\(load.log)")
        let json = try #require(load.log.split(separator: "\n").first { $0.hasPrefix("{") })
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(report["acknowledged"] as? Int == 3000, "every publish acknowledged in the end: \(json)")
        #expect(report["loss"] as? Int == 0, "\(json)")
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
            [faults]
            fcnt_reset = 0.02
            copies = 0.1
            truncated = 0.05
            unknown_device = 0.05
            """.write(toFile: directory + "/scenario.toml", atomically: true, encoding: .utf8)
        let registry = try capture(TestEnvironment.simulator, ["registry", "--scenario", directory + "/scenario.toml"])
        try registry.output.write(to: URL(fileURLWithPath: directory + "/devices.toml"))
        try "[gateway]\ndevice_registry = \"devices.toml\"\n".write(toFile: directory + "/citygate.toml", atomically: true, encoding: .utf8)
        let gateway = try await GatewayProcess(broker: broker, directory: directory, config: directory + "/citygate.toml")
        let run = try capture(TestEnvironment.simulator, [
            "load", "--broker", broker.url, "--scenario", directory + "/scenario.toml", "--count", "1500", "--json",
            "--metrics", "http://127.0.0.1:\(gateway.httpPort)/metrics"])
        let report = try #require(try JSONSerialization.jsonObject(with: run.output) as? [String: Any], "\(String(decoding: run.output, as: UTF8.self))")
        #expect(run.status == 0)
        let faults = report["faults"] as? [String: Int] ?? [:]
        let figures = report["gateway"] as? [String: Any] ?? [:]
        #expect(report["frames"] as? Int == 1500 && report["sent"] as? Int == 1500 + (faults["copies"] ?? 0) + (faults["join_events"] ?? 0))
        #expect((faults["fcnt_reset"] ?? 0) > 0, "\(faults)")
        #expect(report["loss"] as? Int == 0, "every distinct frame stored, faulty ones included")
        #expect(figures["stored"] as? Int == 1500)
        #expect(figures["duplicates"] as? Int == faults["copies"], "each copy recognised as a duplicate frame, quarantined ones too")
        // Truncated frames may still decode (a shorter valid payload); unknown devices never do.
        let quarantined = figures["quarantined"] as? Int ?? 0
        #expect(quarantined >= (faults["unknown_device"] ?? 0) && quarantined <= (faults["unknown_device"] ?? 0) + (faults["truncated"] ?? 0), "\(faults) \(figures)")
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }
}
