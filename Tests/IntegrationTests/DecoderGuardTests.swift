import Foundation
import Testing

/// Uplinks are decoded in the burst, before their commit: a decoder that
/// traps on one message must not become a crash loop, nor cost the messages
/// around it (`DecodeGuard`). The fault makes decoding any message that
/// holds `"fCnt":3,` trap, as a codec with a bug would.
@Suite(.serialized) struct DecoderGuardTests {
    @Test func aMessageThatTrapsTheDecoderIsQuarantinedAfterTwoStopsAndNothingElseIsLost() async throws {
        let directory = try TestEnvironment.temporaryDirectory("decoder-trap")
        let broker = try await Broker(directory: directory)
        // A persistent session: what the broker sent and got no PUBACK for comes back after each stop.
        let config = try MQTTLinkTests.config(directory, mqtt: "protocol = \"5\"\nsession_expiry = \"1h\"\nclient_id = \"citygate-trap\"")
        // No crash backtrace: symbolicating one took over 20 s under the parallel suite.
        let trap = ["CITYGATE_FAULT_TRAP_DECODING": #""fCnt":3,"#, "SWIFT_BACKTRACE": "enable=no"]
        var gateway = try await GatewayProcess(broker: broker, directory: directory, config: config, environment: trap)
        // Subscribed, not only connected: a message published before the
        // subscription is in place is not kept for the session.
        try await gateway.waitFor("subscribed", timeout: .seconds(20)) { gateway.process.log.contains(" subscribed ") }
        for fCnt in 1...3 { try broker.publish(topic: MQTTLinkTests.uplinkTopic, message: MQTTLinkTests.uplink(fCnt)) }

        // Stop 1: in ingest's decoding, with uplink 3's burst neither committed nor acknowledged.
        let first = await gateway.process.waitForExit(timeout: .seconds(60))
        #expect(first != nil && first != 0, "the trap stopped the gateway: \(String(describing: first))")
        for fCnt in 4...5 { try broker.publish(topic: MQTTLinkTests.uplinkTopic, message: MQTTLinkTests.uplink(fCnt)) }

        // Stop 2: restarted (as systemd would), the gateway commits uplink 3
        // undecoded and decodes the rest in the burst; the processing service
        // then traps on uplink 3 on its own.
        gateway = try await GatewayProcess(broker: broker, directory: directory, config: config, environment: trap,
                                           waitForHTTP: false)
        let second = await gateway.process.waitForExit(timeout: .seconds(60))
        #expect(second != nil && second != 0, "the processing service trapped on the suspect: \(String(describing: second))")
        #expect(gateway.process.log.contains("the last run stopped while decoding one message"), "\(gateway.process.log)")

        // Third start: uplink 3 is quarantined as decoder_crash, undecoded; every other uplink was decoded once.
        gateway = try await GatewayProcess(broker: broker, directory: directory, config: config, environment: trap)
        try await gateway.waitFor("five uplinks stored, one quarantined", timeout: .seconds(30)) {
            let status = try gateway.status()
            return status["uplinks_stored"] as? Int == 5 && status["quarantined"] as? Int == 1 && status["uplinks_pending"] as? Int == 0
        }
        #expect(gateway.process.log.contains("the gateway stopped again while decoding one message"), "\(gateway.process.log)")
        #expect(gateway.process.isRunning, "no third stop")
        let rows = try SQLiteRows(path: gateway.database)
        #expect(try rows.strings("SELECT q.category, u.state, m.message IS NOT NULL FROM quarantine q JOIN uplinks u ON u.id = q.uplink_id LEFT JOIN uplink_messages m ON m.uplink_id = u.id")
                == ["decoder_crash|2|1"])
        #expect(try rows.strings("SELECT fcnt FROM uplinks WHERE state = 1 ORDER BY fcnt") == ["1", "2", "4", "5"])
        #expect(try rows.strings("SELECT count(DISTINCT uplink_id) FROM readings") == ["4"])
        #expect(await gateway.process.stop() == 0)

        // Once the codec is mended (the fault gone), requeue decodes it.
        gateway = try await GatewayProcess(broker: broker, directory: directory, config: config)
        let requeue = try ManagedProcess(TestEnvironment.citygate, ["requeue", "--config", config, "--database", gateway.database, "--reason", "decoder_crash"],
                                         directory: directory, logName: "requeue.log")
        #expect(await requeue.waitForExit(timeout: .seconds(60)) == 0, "\(requeue.log)")
        try await gateway.waitFor("uplink 3 decoded", timeout: .seconds(30)) {
            try SQLiteRows(path: gateway.database).strings("SELECT count(*) FROM uplinks WHERE state = 1") == ["5"]
        }
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }
}
