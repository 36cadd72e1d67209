import Foundation
import Readings
import Testing

/// Exactly once as the hub sees it, with a hub that neither deduplicates nor
/// takes client ids (django-ogc-sensorthings): the gateway is killed with
/// SIGKILL while a batch is in flight, the hub is killed mid-run, and after
/// both come back every window is at the hub once, counted at the hub.
@Suite(.serialized) struct ExactlyOnceTests {
    @Test func killingTheGatewayMidBatchAndTheHubMidRunDeliversEveryWindowOnce() async throws {
        let devices = 20, hours = 24
        let hour: Int64 = 3_600_000
        let directory = try TestEnvironment.temporaryDirectory("exactly-once")
        let broker = try await Broker(directory: directory)
        var hub = try await SensorThingsServer(directory: directory)
        let config = try await TestConfig.fleet(directory, devices: devices, """
            [[hub]]
            name = "opendata"
            kind = "sensorthings"
            url = "\(hub.serviceRoot)"
            batch_size = 40
            timeout_seconds = 5
            retry_max = "1s"
            """).path
        var gateway = try await GatewayProcess(broker: broker, directory: directory, extra: ["--window", "1h"], config: config)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let start = (now / hour - Int64(hours) - 2) * hour + 60_000
        _ = try await runSimulator(["--broker", broker.url, "--devices", "\(devices)", "--count", "\(devices * hours)", "--rate", "1000",
                                    "--simulated-start", RFC3339.format(start), "--interval", "1h"], directory: directory)

        let ledger = try SQLiteRows(path: gateway.database)
        let hubRows = try SQLiteRows(path: directory + "/hub.sqlite")
        func held() throws -> Int {
            Int(try hubRows.strings("SELECT count(*) FROM sensorthings_v1_1_django_backend_observation").first ?? "0") ?? 0
        }
        var inFlightAtKills = 0
        // Twice: let some windows through, then SIGKILL the gateway the moment a batch is in flight.
        for round in 1...2 {
            let before = try held()
            try await gateway.waitFor("more windows at the hub (round \(round))", timeout: .seconds(120)) { try held() > before + 80 }
            try await gateway.waitFor("a batch in flight", timeout: .seconds(60)) {
                try ledger.strings("SELECT count(*) FROM deliveries WHERE state = 1") != ["0"]
            }
            gateway.process.signal(SIGKILL)
            _ = await gateway.process.waitForExit(timeout: .seconds(10))
            inFlightAtKills += Int(try ledger.strings("SELECT count(*) FROM deliveries WHERE state = 1").first ?? "0") ?? 0
            gateway = try await GatewayProcess(broker: broker, directory: directory, extra: ["--window", "1h"], httpPort: gateway.httpPort,
                                               config: config)
        }
        // The hub dies mid-run (SIGKILL, requests cut off) and comes back on the same port and database.
        let beforeHubKill = try held()
        try await gateway.waitFor("more windows before the hub dies", timeout: .seconds(120)) { try held() > beforeHubKill + 80 }
        hub.process.forceStop()
        _ = await hub.process.waitForExit(timeout: .seconds(10))
        try await Task.sleep(for: .seconds(2))
        hub = try await SensorThingsServer(directory: directory, port: hub.port)

        try await gateway.waitFor("every window delivered", timeout: .seconds(300)) {
            try ledger.strings("SELECT count(*) FROM deliveries WHERE state <> 2") == ["0"]
                && ledger.strings("SELECT count(*) FROM readings WHERE aggregated = 0") == ["0"]
                && ledger.strings("SELECT count(*) FROM aggregates WHERE rollup_pending = 1") == ["0"]
        }
        let expected = try ledger.strings("SELECT count(*) FROM deliveries WHERE hub = 'opendata'").first ?? ""
        let atHub = try hubRows.strings("""
            SELECT count(*) || '|' || count(DISTINCT json_extract(parameters, '$.windowKey'))
            FROM sensorthings_v1_1_django_backend_observation
            """)
        #expect(atHub == ["\(expected)|\(expected)"], "each window once at the hub, none twice: \(atHub) for \(expected) windows")
        let reconciled = try await gateway.metric("citygate_hub_reconciled_total")
        FileHandle.standardError.write(Data("exactly-once: \(expected) windows, \(inFlightAtKills) in flight at the kills, \(reconciled) reconciled by the last gateway\n".utf8))
        #expect(await gateway.process.stop() == 0)
        hub.process.forceStop()
        broker.process.forceStop()
    }
}
