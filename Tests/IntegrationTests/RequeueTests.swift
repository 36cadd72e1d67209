import Foundation
import Testing

/// `citygate requeue` after a registry fix, with and without a daemon running.
@Suite(.serialized) struct RequeueTests {
    func citygate(_ arguments: [String], in directory: String) async throws -> (status: Int32?, output: String) {
        let process = try ManagedProcess(TestEnvironment.citygate, arguments, directory: directory, logName: "cli-\(UUID().uuidString.prefix(4)).log")
        let status = await process.waitForExit(timeout: .seconds(60))
        return (status, process.log)
    }

    @Test func quarantinedUplinksDecodeAfterARegistryFix() async throws {
        let directory = try TestEnvironment.temporaryDirectory("requeue")
        let broker = try await Broker(directory: directory)
        let gateway = try await GatewayProcess(broker: broker, directory: directory)
        let newDevice = "a840410000000999"
        try broker.publish(topic: "application/app/device/\(newDevice)/event/up",
                           message: #"{"deviceInfo":{"devEui":"\#(newDevice)"},"fCnt":1,"fPort":1,"data":"AQDiAikEACcFBgYDCA=="}"#)
        try await gateway.waitFor("the unknown device quarantined", timeout: .seconds(20)) {
            (try gateway.status()["quarantined"] as? Int) == 1
        }

        // While the daemon runs, requeue hands the rows to it; its registry
        // still lacks the device, so the uplink is quarantined again.
        let busy = try await citygate(["requeue", "--config", TestEnvironment.packageRoot + "/Config/citygate.toml", "--database", gateway.database], in: directory)
        #expect(busy.status == 0)
        #expect(busy.output.contains("requeued 1 uplink(s); the running daemon decodes them"), "\(busy.output)")
        try await gateway.waitFor("re-quarantined by the daemon", timeout: .seconds(20)) {
            let status = try gateway.status()
            return status["quarantined"] as? Int == 1 && status["uplinks_pending"] as? Int == 0
        }
        #expect(await gateway.process.stop() == 0)

        // Fix the registry (a copy of the shipped config with the device added);
        // with no daemon running, requeue decodes the uplink itself.
        let fixed = directory + "/fixed"
        try FileManager.default.createDirectory(atPath: fixed + "/codecs", withIntermediateDirectories: true)
        for file in ["citygate.toml", "devices.toml", "codecs/an-303.toml"] {
            try FileManager.default.copyItem(atPath: TestEnvironment.packageRoot + "/Config/" + file, toPath: fixed + "/" + file)
        }
        let registry = try String(contentsOfFile: fixed + "/devices.toml", encoding: .utf8)
            + "\n[[device]]\nid = \"\(newDevice)\"\ncodec = \"elsys:ers-co2\"\nkind = \"air_quality\"\n"
        try registry.write(toFile: fixed + "/devices.toml", atomically: true, encoding: .utf8)
        let done = try await citygate(["requeue", "--config", fixed + "/citygate.toml", "--database", gateway.database, "--reason", "unknown_device"], in: directory)
        #expect(done.status == 0)
        #expect(done.output.contains("requeued 1 uplink(s); no daemon running, decoded 1 pending uplink(s) here; 0 quarantined now"), "\(done.output)")
        let rows = try SQLiteRows(path: gateway.database)
        #expect(try rows.strings("SELECT metric || '=' || value FROM readings WHERE device = '\(newDevice)' ORDER BY uplink_id, position")
                == ["temperature=2260", "relative_humidity=4100", "light=39", "motion=6", "co2=776"])
        // A reason that is not a quarantine reason is refused, not matched against nothing.
        let typo = try await citygate(["requeue", "--config", fixed + "/citygate.toml", "--database", gateway.database, "--reason", "unknown-device"],
                                      in: directory)
        #expect(typo.status != 0 && typo.output.contains("'unknown-device' is not a quarantine reason"), "\(typo.output)")
        broker.process.forceStop()
    }

    @Test func oneDaemonPerDatabase() async throws {
        let directory = try TestEnvironment.temporaryDirectory("lock")
        let broker = try await Broker(directory: directory)
        let first = try await GatewayProcess(broker: broker, directory: directory)
        let second = try ManagedProcess(
            TestEnvironment.citygate,
            ["run", "--config", TestEnvironment.packageRoot + "/Config/citygate.toml", "--broker", broker.url,
             "--database", first.database, "--http-listen", ""],
            directory: directory, logName: "second.log")
        #expect(await second.waitForExit(timeout: .seconds(20)) == 78)
        #expect(second.log.contains("is in use by another citygate"))
        #expect(await first.process.stop() == 0)
        broker.process.forceStop()
    }
}
