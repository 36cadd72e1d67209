import Foundation
import Readings
import Testing

/// A SensorThings server for the exactly-once test, restartable on its port
/// and database: django-ogc-sensorthings (real), or the FROST-like server.
protocol RestartableSensorThingsHub: Sendable {
    var serviceRoot: String { get }
    var process: ManagedProcess { get }
    /// Its Observations, counted in its own database: "rows|distinct window keys".
    func observationCounts() throws -> String
    /// The same server again, on the same port and database.
    func restarted(directory: String) async throws -> any RestartableSensorThingsHub
    /// The `[[hub]]` keys this server needs beyond url.
    static var hubKeys: String { get }
}

extension SensorThingsServer: RestartableSensorThingsHub {
    func observationCounts() throws -> String {
        try SQLiteRows(path: database).strings("""
            SELECT count(*) || '|' || count(DISTINCT json_extract(parameters, '$.windowKey'))
            FROM sensorthings_v1_1_django_backend_observation
            """).first ?? ""
    }
    func restarted(directory: String) async throws -> any RestartableSensorThingsHub { try await SensorThingsServer(directory: directory, port: port) }
    // django-ogc-sensorthings answers an interval phenomenonTime with a 500.
    static var hubKeys: String { "phenomenon_time = \"instant\"" }
}

extension FrostLikeServer: RestartableSensorThingsHub {
    func observationCounts() throws -> String {
        try rows("SELECT count(*) || '|' || count(DISTINCT json_extract(parameters, '$.windowKey')) FROM observations").first ?? ""
    }
    func restarted(directory: String) async throws -> any RestartableSensorThingsHub {
        try await FrostLikeServer(directory: directory, port: port, errorRows: errorRows, delayMillis: delayMillis)
    }
    static var hubKeys: String { "" }
}

/// Exactly once as the hub sees it, with hubs that neither deduplicate nor
/// take client ids (django-ogc-sensorthings, and the FROST-like server): the
/// gateway is killed with SIGKILL while a batch is in flight, the hub is
/// killed mid-run, and after both come back every window is at the hub
/// once, counted at the hub.
@Suite(.serialized) struct ExactlyOnceTests {
    @Test(arguments: ["django-ogc-sensorthings", "frost-like"])
    func killingTheGatewayMidBatchAndTheHubMidRunDeliversEveryWindowOnce(server: String) async throws {
        let devices = 20, hours = 24
        let directory = try TestEnvironment.temporaryDirectory("exactly-once")
        let broker = try await Broker(directory: directory)
        var hub: any RestartableSensorThingsHub = server == "frost-like"
            // Answers held 200 ms: it is much faster than django-ogc-sensorthings, and without
            // that the whole backlog could be delivered before the second kill found a batch.
            ? try await FrostLikeServer(directory: directory, delayMillis: 200) : try await SensorThingsServer(directory: directory)
        let config = try await TestConfig.fleet(directory, devices: devices, """
            [[hub]]
            name = "opendata"
            kind = "sensorthings"
            \(type(of: hub).hubKeys)
            url = "\(hub.serviceRoot)"
            batch_size = 40
            timeout_seconds = 5
            retry_max = "1s"
            """).path
        var gateway = try await GatewayProcess(broker: broker, directory: directory, extra: ["--window", "1h"], config: config)
        try await playSimulatedHours(hours, devices: devices, broker: broker, directory: directory)

        let ledger = try SQLiteRows(path: gateway.database)
        func held() throws -> Int { Int(try hub.observationCounts().split(separator: "|").first ?? "0") ?? 0 }
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
        hub = try await hub.restarted(directory: directory)

        try await gateway.waitFor("every window delivered", timeout: .seconds(300)) {
            try ledger.strings("SELECT count(*) FROM deliveries WHERE state <> 2") == ["0"]
                && ledger.strings("SELECT count(*) FROM device_sessions WHERE open_until_ms IS NOT NULL") == ["0"]
                && ledger.strings("SELECT count(*) FROM aggregates WHERE rollup_pending = 1") == ["0"]
        }
        let expected = try ledger.strings("SELECT count(*) FROM deliveries WHERE hub = 'opendata'").first ?? ""
        let atHub = try hub.observationCounts()
        #expect(atHub == "\(expected)|\(expected)", "each window once at the hub, none twice: \(atHub) for \(expected) windows")
        let reconciled = try await gateway.metric("citygate_hub_reconciled_total")
        FileHandle.standardError.write(Data("exactly-once (\(server)): \(expected) windows, \(inFlightAtKills) in flight at the kills, \(reconciled) reconciled by the last gateway\n".utf8))
        #expect(await gateway.process.stop() == 0)
        hub.process.forceStop()
        broker.process.forceStop()
    }
}
