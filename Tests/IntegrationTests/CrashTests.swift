import Foundation
import Readings
import Testing

/// At-least-once from broker to disk, exactly once in the store: the gateway
/// is killed with SIGKILL several times while the simulator publishes QoS 1
/// uplinks, and restarted each time on the same database and persistent
/// session. Every published uplink must be stored once, none twice, and the
/// aggregates must be those of an undisturbed run.
///
/// CI runs a reduced count; `scripts/crash-test.sh` runs 100,000
/// (CITYGATE_CRASH_COUNT overrides the count).
@Suite(.serialized) struct CrashTests {
    @Test func killNineMidStreamLosesNothingAndDuplicatesNothing() async throws {
        let count = Int(ProcessInfo.processInfo.environment["CITYGATE_CRASH_COUNT"] ?? "") ?? 4000
        let rate = max(1000, count / 20)  // about 4 s in CI, 20 s or more at full count
        let directory = try TestEnvironment.temporaryDirectory("crash")
        let broker = try await Broker(directory: directory)
        var gateway = try await GatewayProcess(broker: broker, directory: directory, extra: ["--window", "1s"])
        let simulator = try ManagedProcess(
            TestEnvironment.simulator,
            ["run", "--broker", broker.url, "--count", "\(count)", "--rate", "\(rate)", "--manifest", directory + "/manifest.ndjson"],
            directory: directory, logName: "sim.log")

        // Three kills spread over the publishing time, each followed by a restart.
        let publishing = Double(count) / Double(rate)
        var kills = 0
        for fraction in [0.2, 0.5, 0.8] {
            try await Task.sleep(for: .milliseconds(Int(publishing * fraction * 1000 / 3) + 200))
            gateway.process.signal(SIGKILL)
            gateway.process.process.waitUntilExit()
            kills += 1
            gateway = try await GatewayProcess(broker: broker, directory: directory, extra: ["--window", "1s"], httpPort: gateway.httpPort)
        }
        #expect(kills == 3)
        guard await simulator.waitForExit(timeout: .seconds(600)) == 0 else {
            Issue.record("simulator failed: \(simulator.log.suffix(2000))")
            return
        }
        try await gateway.waitFor("\(count) uplinks stored", timeout: .seconds(300)) {
            let status = try gateway.status()
            return status["uplinks_stored"] as? Int == count && status["uplinks_pending"] as? Int == 0
        }

        // Independently of the gateway's own figures: the rows in the file.
        let database = try SQLiteRows(path: gateway.database)
        #expect(try database.strings("SELECT count(*) FROM uplinks") == ["\(count)"], "no duplicate rows")
        #expect(try database.strings("SELECT count(DISTINCT message) FROM uplink_messages") == ["\(count)"], "every message once")
        #expect(try database.strings("SELECT count(*) FROM uplinks WHERE state <> 1") == ["0"], "every uplink decoded")
        let manifest = try String(contentsOfFile: directory + "/manifest.ndjson", encoding: .utf8).split(separator: "\n")
        #expect(manifest.count == count)
        let dampFrames = manifest.filter { $0.contains(#""kind":"damp""#) }.count
        let values = manifest.reduce(0) { total, line in
            total + line.components(separatedBy: #""metric""#).count - 1
        }
        #expect(try database.strings("SELECT count(*) FROM readings") == ["\(values + 2 * dampFrames)"])

        // The aggregates: what an undisturbed run computes from the same readings.
        try await gateway.waitFor("every window closed and rolled up", timeout: .seconds(60)) {
            try database.strings("SELECT count(*) FROM device_sessions WHERE open_until_ms IS NOT NULL") == ["0"]
                && database.strings("SELECT count(*) FROM aggregates WHERE rollup_pending = 1") == ["0"]
        }
        let stored = try database.strings(
            "SELECT window_key || '|' || count || '|' || min || '|' || max || '|' || mean || '|' || last FROM aggregates WHERE scope = 'device' ORDER BY window_key")
        let recomputed = try database.strings("""
            SELECT device || '|' || metric || '|' || coalesce(channel, '') || '|' || window_start_ms || '|' || count(*) || '|' || min(value) || '|' || max(value) || '|' || sum(value)
            FROM readings GROUP BY device, metric, channel, window_start_ms ORDER BY 1
            """)
        #expect(stored.count == recomputed.count, "one aggregate per window")
        let byKey = Dictionary(uniqueKeysWithValues: stored.map { line -> (String, [Int64]) in
            let parts = line.split(separator: "|")
            return (String(parts[0]), parts.dropFirst().compactMap { Int64($0) })
        })
        var compared = 0
        for line in recomputed {
            let p = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            let series = p[2].isEmpty ? p[1] : "\(p[1]).\(p[2])"
            let key = "\(p[0])/\(series)/\(RFC3339.format(Int64(p[3])!))/PT1S"
            let (n, low, high, sum) = (Int64(p[4])!, Int64(p[5])!, Int64(p[6])!, Int64(p[7])!)
            guard let got = byKey[key] else { Issue.record("no aggregate for \(key)"); continue }
            let mean = FixedPoint.divideRounded(sum, by: n)!
            #expect(Array(got.prefix(4)) == [n, low, high, mean], "\(key)")
            compared += 1
        }
        #expect(compared == recomputed.count)

        // What reached the hub (the file output here) after the crashes: for
        // every window the last line written equals the stored aggregate. A
        // window in flight at a kill may have been written twice; readers keep
        // the last line (highest revision) per id.
        try await gateway.waitFor("file hub backlog drained", timeout: .seconds(120)) {
            let hubs = try gateway.status()["hubs"] as? [String: [String: Any]]
            return hubs?["file"]?["backlog"] as? Int == 0
        }
        var delivered: [String: [String: Any]] = [:]
        var written: [String: Int] = [:]
        let outputs = try FileManager.default.contentsOfDirectory(atPath: directory + "/state/aggregates").filter { $0.hasSuffix(".ndjson") }
        for file in outputs.sorted() {
            for line in try String(contentsOfFile: directory + "/state/aggregates/" + file, encoding: .utf8).split(separator: "\n") {
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                written["\(object["id"] as! String)#\(object["revision"] as! Int)", default: 0] += 1
                delivered[object["id"] as! String] = object  // the last line per window wins
            }
        }
        // Reconciled after each kill: no revision of a window was written twice.
        #expect(written.filter { $0.value > 1 }.isEmpty, "written twice: \(written.filter { $0.value > 1 }.keys.sorted().prefix(5))")
        // Damp windows are per-home data: the public file output gets damp
        // only as zone roll-ups over at least 5 homes.
        let windows = try database.strings("""
            SELECT window_key || '|' || metric || '|' || count || '|' || min || '|' || max || '|' || mean || '|' || last FROM aggregates
            WHERE kind <> 'damp' OR (scope = 'zone' AND members >= 5)
            """)
        #expect(delivered.count == windows.count, "every window at the hub, none extra")
        var matched = 0
        for line in windows {
            let parts = line.split(separator: "|").map(String.init)
            guard let hub = delivered[parts[0]], let metric = Metric.named(parts[1]) else { Issue.record("window \(parts[0]) not at the hub"); continue }
            let want = parts[2...].map { Int64($0)! }
            let got = ["count", "min", "max", "mean", "last"].map { (hub[$0] as? NSNumber)?.doubleValue ?? .nan }
            let expected = [Double(want[0])] + want[1...].map { Double(FixedPoint.decimalString($0, decimals: metric.decimals))! }
            #expect(got == expected, "\(parts[0])")
            matched += 1
        }
        #expect(matched == windows.count)
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }
}
