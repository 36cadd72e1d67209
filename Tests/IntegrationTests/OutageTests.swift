import Foundation
import Readings
import Testing

/// The hub is down while a simulated day of a fleet arrives (time-compressed);
/// the backlog stays on disk, not in memory; then the hub comes up and every
/// window is delivered once, oldest first.
///
/// CI runs 50 devices; CITYGATE_OUTAGE_DEVICES=1000 runs the full fleet
/// (`scripts/outage-test.sh`).
@Suite(.serialized) struct OutageTests {
    @Test func aDayOfBacklogIsDeliveredOnceInWindowOrder() async throws {
        let devices = Int(ProcessInfo.processInfo.environment["CITYGATE_OUTAGE_DEVICES"] ?? "") ?? 50
        let hours = 24
        let directory = try TestEnvironment.temporaryDirectory("outage")
        let broker = try await Broker(directory: directory)
        let hubPort = TestEnvironment.freePort()  // nothing listens there yet: the hub is down

        // A config of its own: the simulated fleet's registry, network times a
        // day old accepted, a short retry cap so the test need not wait long.
        let config = try await TestConfig.fleet(directory, devices: devices, """
            [[hub]]
            name = "opendata"
            kind = "sensorthings"
            phenomenon_time = "instant"
            url = "http://127.0.0.1:\(hubPort)/sensorthings/v1.1"
            retry_max = "1s"
            timeout_seconds = 30
            """)
        let gateway = try await GatewayProcess(broker: broker, directory: directory, extra: ["--window", "1h"],
                                               config: config.path)

        let hour: Int64 = 3_600_000
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let start = (now / hour - Int64(hours) - 2) * hour + 60_000
        let count = devices * hours
        _ = try await runSimulator(["--broker", broker.url, "--devices", "\(devices)", "--count", "\(count)", "--rate", "2000",
                                    "--simulated-start", RFC3339.format(start), "--interval", "1h"], directory: directory)

        // Every window closed and queued while the hub is down.
        let database = try SQLiteRows(path: gateway.database)
        try await gateway.waitFor("all \(count) uplinks aggregated", timeout: .seconds(120)) {
            let status = try gateway.status()
            guard status["uplinks_stored"] as? Int == count, status["uplinks_pending"] as? Int == 0 else { return false }
            return try database.strings("SELECT count(*) FROM device_sessions WHERE open_until_ms IS NOT NULL") == ["0"]
                && database.strings("SELECT count(*) FROM aggregates WHERE rollup_pending = 1") == ["0"]
        }
        let aggregates = Int(try database.strings("SELECT count(*) FROM deliveries WHERE hub = 'opendata'").first ?? "0") ?? 0
        #expect(aggregates > devices * hours)
        #expect(try database.strings("SELECT count(*) FROM deliveries WHERE hub = 'opendata' AND state = 2") == ["0"])
        // A generous ceiling for the debug build the tests run: it idles at
        // about 45 MiB and peaked at 55-66 MiB here (66 with the whole suite
        // running beside it). 3,888 aggregates held in memory would add only a
        // few MiB: the 1,000-device run (scripts/outage-test.sh, about 78,000
        // aggregates) is the one that would show a backlog kept in memory.
        let ceiling = 96 << 20
        let backlogRSS = try #require(gateway.peakRSS)
        #expect(backlogRSS < ceiling, "peak RSS \(backlogRSS / 1024) KiB with \(aggregates) aggregates waiting")
        FileHandle.standardError.write(Data("outage: \(devices) devices, \(count) uplinks, \(aggregates) aggregates waiting, peak RSS \(backlogRSS / 1024) KiB\n".utf8))

        // The hub comes up on the configured port.
        let hub = try await SensorThingsServer(directory: directory, port: hubPort)
        try await gateway.waitFor("backlog delivered", timeout: .seconds(600)) {
            try database.strings("SELECT count(*) FROM deliveries WHERE hub = 'opendata' AND state <> 2") == ["0"]
        }
        // Count at the hub itself: its own SQLite file (paging the API through
        // tens of thousands of observations would take the server minutes).
        let hubRows = try SQLiteRows(path: directory + "/hub.sqlite")
        let held = try hubRows.strings("""
            SELECT count(*) || '|' || count(DISTINCT json_extract(parameters, '$.windowKey'))
            FROM sensorthings_v1_1_django_backend_observation
            """)
        #expect(held == ["\(aggregates)|\(aggregates)"], "each window once, none twice: \(held)")
        // And the API serves them.
        guard let page = await TestEnvironment.get(hub.serviceRoot + "/Observations?$top=5"), page.status == 200,
              let body = try JSONSerialization.jsonObject(with: page.body) as? [String: Any],
              let observations = body["value"] as? [[String: Any]] else {
            Issue.record("GET Observations failed")
            return
        }
        #expect(observations.count == 5)
        // Oldest window first: no window was delivered before an older one.
        // For each window start: everything older was delivered no later than
        // the first delivery of this one.
        #expect(try database.strings("""
            WITH per AS (SELECT a.window_start_ms AS s, min(d.updated_ms) AS first, max(d.updated_ms) AS last
                         FROM deliveries d JOIN aggregates a ON a.id = d.aggregate_id GROUP BY a.window_start_ms),
                 run AS (SELECT first, max(last) OVER (ORDER BY s ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS older FROM per)
            SELECT count(*) FROM run WHERE older > first
            """) == ["0"])
        let peak = try #require(gateway.peakRSS)
        #expect(peak < ceiling, "peak RSS \(peak / 1024) KiB")
        FileHandle.standardError.write(Data("outage: delivered \(aggregates) observations; peak RSS \(peak / 1024) KiB\n".utf8))
        #expect(await gateway.process.stop() == 0)
        hub.process.forceStop()
        broker.process.forceStop()
    }
}

/// Runs a citygate-sim subcommand and returns its standard output.
func runSimulatorCommand(_ arguments: [String], directory: String) async throws -> String {
    let run = try capture(TestEnvironment.simulator, arguments)
    guard run.status == 0 else { throw FixtureError("citygate-sim \(arguments) failed") }
    return String(decoding: run.output, as: UTF8.self)
}
