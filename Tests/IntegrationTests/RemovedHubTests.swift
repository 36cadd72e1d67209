import Foundation
import Testing

/// A hub taken out of the config kept its backlog forever, silently: the
/// gateway now names it at every start, and `citygate drop-hub` forgets it.
@Suite(.serialized) struct RemovedHubTests {
    func citygate(_ arguments: [String], in directory: String) async throws -> (status: Int32?, output: String) {
        let process = try ManagedProcess(TestEnvironment.citygate, arguments, directory: directory, logName: "cli-\(UUID().uuidString.prefix(4)).log")
        return (await process.waitForExit(timeout: .seconds(60)), process.log)
    }

    @Test func aRemovedHubIsNamedAtStartAndCanBeDropped() async throws {
        let directory = try TestEnvironment.temporaryDirectory("removed-hub")
        let broker = try await Broker(directory: directory)
        let unreachable = "http://127.0.0.1:\(TestEnvironment.freePort())/v1.1"
        var gateway = try await GatewayProcess(broker: broker, directory: directory, extra: ["--window", "1s", "--hub", "sensorthings=\(unreachable)"])
        for fCnt in 1...5 { try broker.publish(topic: MQTTLinkTests.uplinkTopic, message: MQTTLinkTests.uplink(fCnt)) }
        try await gateway.waitFor("windows waiting for the unreachable hub", timeout: .seconds(30)) {
            let hubs = try gateway.status()["hubs"] as? [String: [String: Any]]
            return (hubs?["sensorthings"]?["backlog"] as? Int ?? 0) > 0
        }
        #expect(await gateway.process.stop() == 0)

        // The same gateway without that hub: it says so at start.
        gateway = try await GatewayProcess(broker: broker, directory: directory, httpPort: gateway.httpPort)
        #expect(gateway.process.log.contains("a hub no longer in the config has undelivered windows; `citygate drop-hub --hub sensorthings` forgets them"),
                "\(gateway.process.log)")
        #expect(await gateway.process.stop() == 0)

        let config = TestEnvironment.packageRoot + "/Config/citygate.toml"
        let refused = try await citygate(["drop-hub", "--hub", "file", "--config", config, "--database", gateway.database], in: directory)
        #expect(refused.status == 1 && refused.output.contains("hub 'file' is in"), "a configured hub is not dropped: \(refused.output)")
        let dropped = try await citygate(["drop-hub", "--hub", "sensorthings", "--config", config, "--database", gateway.database], in: directory)
        #expect(dropped.status == 0 && dropped.output.contains("dropped hub sensorthings:"), "\(dropped.output)")
        let hubs = try gateway.status()["hubs"] as? [String: Any]
        #expect(hubs?["sensorthings"] == nil, "\(String(describing: hubs))")

        gateway = try await GatewayProcess(broker: broker, directory: directory, httpPort: gateway.httpPort)
        #expect(!gateway.process.log.contains("no longer in the config"))
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }
}
