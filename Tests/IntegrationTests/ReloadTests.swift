import Foundation
import Testing

/// SIGHUP: a good config (a device added to the registry) takes effect; a bad
/// one is refused with its errors logged and the running one kept; uplinks
/// arriving meanwhile are all stored.
@Suite(.serialized) struct ReloadTests {
    static func uplink(fCnt: Int) -> String {
        #"{"deviceInfo":{"devEui":"a840410000000501"},"fCnt":\#(fCnt),"fPort":1,"data":"AWcA/w=="}"#
    }

    @Test func sighupAppliesAGoodConfigAndRefusesABadOne() async throws {
        let directory = try TestEnvironment.temporaryDirectory("reload")
        let broker = try await Broker(directory: directory)
        let shipped = try String(contentsOfFile: TestEnvironment.packageRoot + "/Config/devices.toml", encoding: .utf8)
        // The registry without the Cayenne node: its uplinks are unknown at first.
        let without = shipped.components(separatedBy: "[[device]]").filter { !$0.contains("a840410000000501") }.joined(separator: "[[device]]")
        try without.write(toFile: directory + "/devices.toml", atomically: true, encoding: .utf8)
        let config = """
            [gateway]
            device_registry = "devices.toml"
            codec_directory = "\(TestEnvironment.packageRoot)/Config/codecs"
            """
        try config.write(toFile: directory + "/citygate.toml", atomically: true, encoding: .utf8)
        let gateway = try await GatewayProcess(broker: broker, directory: directory, config: directory + "/citygate.toml")
        let topic = "application/app/device/a840410000000501/event/up"
        try broker.publish(topic: topic, message: Self.uplink(fCnt: 50001))
        try await gateway.waitFor("the unknown device quarantined", timeout: .seconds(20)) { try gateway.status()["quarantined"] as? Int == 1 }

        // A steady stream from the rest of the district while the config is reloaded.
        let stream = try ManagedProcess(TestEnvironment.simulator, ["run", "--broker", broker.url, "--count", "200", "--rate", "50"],
                                        directory: directory, logName: "sim-stream.log")

        // 1. Good: the device is registered now.
        try shipped.write(toFile: directory + "/devices.toml", atomically: true, encoding: .utf8)
        gateway.process.signal(SIGHUP)
        try await gateway.waitFor("reloaded", timeout: .seconds(10)) { gateway.process.log.contains("configuration reloaded") }
        try broker.publish(topic: topic, message: Self.uplink(fCnt: 50002))

        // 2. Bad: refused, every error logged, the running config stays.
        try (config + "\n[mqtt]\nqos = 7\nbogus = true\n").write(toFile: directory + "/citygate.toml", atomically: true, encoding: .utf8)
        gateway.process.signal(SIGHUP)
        try await gateway.waitFor("refused", timeout: .seconds(10)) { gateway.process.log.contains("reload refused") }
        #expect(gateway.process.log.contains("mqtt.qos") && gateway.process.log.contains("mqtt.bogus"))
        try broker.publish(topic: topic, message: Self.uplink(fCnt: 50003))

        // 3. Deeply nested (it overflowed the parser's stack and killed the daemon): refused too.
        let logLength = gateway.process.log.count
        try (config + "\nnested = " + String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000) + "\n")
            .write(toFile: directory + "/citygate.toml", atomically: true, encoding: .utf8)
        gateway.process.signal(SIGHUP)
        try await gateway.waitFor("refused again", timeout: .seconds(10)) { gateway.process.log.dropFirst(logLength).contains("reload refused") }
        #expect(gateway.process.log.dropFirst(logLength).contains("nested more than 32 deep"))
        #expect(gateway.process.isRunning)

        #expect(await stream.waitForExit(timeout: .seconds(60)) == 0)
        try await gateway.waitFor("every uplink stored", timeout: .seconds(30)) {
            let status = try gateway.status()
            return status["uplinks_stored"] as? Int == 203 && status["uplinks_pending"] as? Int == 0
        }
        let status = try gateway.status()
        #expect(status["quarantined"] as? Int == 1, "the uplinks after the good reload decoded, also after the refused one")
        #expect(status["duplicates"] as? Int == 0)
        #expect(gateway.process.isRunning)
        FaultMatrix.record("a deeply nested config on SIGHUP (during a stream)", sent: 203, acknowledged: 203,
                           stored: status["uplinks_stored"] as? Int ?? 0, storedTwice: status["duplicates"] as? Int ?? -1,
                           up: gateway.process.isRunning, note: "reload refused, running config kept")
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }
}
