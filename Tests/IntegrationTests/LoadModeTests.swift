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
