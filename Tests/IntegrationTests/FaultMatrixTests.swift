import Foundation
import Readings
import Testing

/// The rows of the fault matrix (issue 15) that no other test covers:
/// hostile input at volume, with a known device's uplinks among it that
/// must always get through. The other rows come from DiskFaultTests,
/// CommitFailureTests, RepeatedFrameTests, OversizedMessageTests,
/// HTTPStallTests and ReloadTests. See FaultMatrix for the columns.
@Suite(.serialized) struct FaultMatrixTests {
    static let known = "a840410000000301"  // Bosch TPS110 (parking) in the shipped registry
    static func knownUplink(_ fCnt: Int) -> (topic: String, payload: [UInt8]) {
        ("application/app/device/\(known)/event/up", Array(#"{"deviceInfo":{"devEui":"\#(known)"},"fCnt":\#(fCnt),"fPort":1,"data":"AQ=="}"#.utf8))
    }

    func rows(_ gateway: GatewayProcess, _ sql: String) throws -> String {
        try SQLiteRows(path: gateway.database).strings(sql).first ?? ""
    }

    /// Distinct uplink rows beyond one per (topic, bytes): copies kept twice.
    func storedTwice(_ gateway: GatewayProcess) throws -> Int {
        Int(try rows(gateway, "SELECT count(*) - count(DISTINCT topic || '|' || message_hash) FROM uplinks")) ?? -1
    }

    /// Records the row (stored = uplinks the gateway committed) and stops the gateway and broker.
    func finish(_ fault: String, sent: Int, acknowledged: Int, gateway: GatewayProcess, broker: Broker, note: String) async throws {
        FaultMatrix.record(fault, sent: sent, acknowledged: acknowledged, stored: Int(try await gateway.metric("citygate_uplinks_committed_total")),
                           storedTwice: try storedTwice(gateway), up: gateway.process.isRunning, note: note)
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }

    @Test func unknownDevicesFloodAStoreBoundedAt32MiB() async throws {
        let count = FaultMatrix.isFull ? 200_000 : 20_000
        let directory = try TestEnvironment.temporaryDirectory("matrix-flood")
        // The shipped broker's queue: intake pauses while the bound is reached,
        // and the broker must hold what arrives meanwhile (at 100,000 it
        // dropped 26,000 of the full run's 200,000).
        let broker = try await Broker(directory: directory, maxQueued: 1_000_000)
        let config = try TestConfig.shipped(directory, "[store]\nmax_size = \"32MiB\"\nmin_free_disk = \"0B\"\n")
        let gateway = try await GatewayProcess(broker: broker, directory: directory, config: config)
        // Every 100th message is the known device's; the rest, each a DevEUI nobody registered.
        var messages: [(topic: String, payload: [UInt8])] = []
        var knownCount = 0
        for index in 0..<count {
            if index % 100 == 0 {
                knownCount += 1
                messages.append(Self.knownUplink(knownCount))
            } else {
                let eui = "ff" + String(format: "%014x", index)
                messages.append(("application/app/device/\(eui)/event/up",
                                 Array(#"{"deviceInfo":{"devEui":"\#(eui)"},"fCnt":1,"fPort":1,"data":"AQ=="}"#.utf8)))
            }
        }
        let acknowledged = try await FastPublisher.publish(messages, port: broker.port)
        try await gateway.waitFor("every uplink committed and processed", timeout: .seconds(900)) {
            let committed = try await gateway.metric("citygate_uplinks_committed_total")
            return try committed == Double(count) && gateway.status()["uplinks_pending"] as? Int == 0
        }
        try await gateway.waitFor("intake running", timeout: .seconds(60)) { try await gateway.metric("citygate_intake_paused") == 0 }
        let known = Int(try rows(gateway, "SELECT count(*) FROM readings WHERE device = '\(Self.known)'")) ?? 0
        #expect(known == knownCount, "every known uplink decoded")
        #expect(try await gateway.metric("citygate_uplinks_quarantined_total{reason=\"unknown_device\"}") == Double(count - knownCount))
        let used = try await gateway.metric("citygate_store_used_bytes")
        #expect(used <= Double(34 << 20), "within the bound and its reserve: \(used)")
        let twice = try storedTwice(gateway)
        #expect(twice == 0)
        let stored = Int(try await gateway.metric("citygate_uplinks_committed_total"))
        FaultMatrix.record("\(count) unknown-device uplinks, 32 MiB bound", sent: count, acknowledged: acknowledged, stored: stored,
                           storedTwice: twice, up: gateway.process.isRunning,
                           note: "\(knownCount) known uplinks all decoded; store \(Int(used) >> 20) MiB used; quarantine pruned \(Int(try await gateway.metric("citygate_store_pruned_total{what=\"quarantined\"}")))")
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }

    @Test func aThousandBogusEventTypesKeepTheMetricBounded() async throws {
        let directory = try TestEnvironment.temporaryDirectory("matrix-events")
        let broker = try await Broker(directory: directory)
        let gateway = try await GatewayProcess(broker: broker, directory: directory)
        let events = (0..<1000).map { index in
            ("application/app/device/\(Self.known)/event/bogus-\(index)", Array(#"{"deviceInfo":{"devEui":"\#(Self.known)"}}"#.utf8))
        }
        let acknowledged = try await FastPublisher.publish(events + [Self.knownUplink(1)], port: broker.port)
        try await gateway.waitFor("all processed", timeout: .seconds(60)) {
            let status = try gateway.status()
            return status["uplinks_stored"] as? Int == 1001 && status["uplinks_pending"] as? Int == 0
        }
        let series = try await gateway.metrics().keys.filter { $0.hasPrefix("citygate_network_events_total{") }
        #expect(series == ["citygate_network_events_total{type=\"other\"}"], "\(series)")
        #expect(try await gateway.metric("citygate_network_events_total") == 1000)
        #expect(try rows(gateway, "SELECT count(*) FROM readings WHERE device = '\(Self.known)'") == "1")
        try await finish("1,000 distinct bogus event types", sent: 1001, acknowledged: acknowledged, gateway: gateway, broker: broker,
                         note: "one metric series (other); the known uplink decoded")
    }

    @Test func aSpoofedTTSDeviceWritesNoReadings() async throws {
        let directory = try TestEnvironment.temporaryDirectory("matrix-spoof")
        let broker = try await Broker(directory: directory)
        let gateway = try await GatewayProcess(broker: broker, directory: directory)
        // Allowed to publish as "intruder", the sender claims the damp sensor of the shipped registry.
        let victim = "a840410000000401"
        let data = Data(Hex.decode("CBF60B0D0376010ADD7FFF")!).base64EncodedString()
        let spoofed = (0..<50).map { index in
            ("v3/city@ttn/devices/intruder/up",
             Array(#"{"end_device_ids":{"device_id":"damp-1","dev_eui":"\#(victim.uppercased())"},"uplink_message":{"f_port":2,"f_cnt":\#(index + 1),"frm_payload":"\#(data)"}}"#.utf8))
        }
        let acknowledged = try await FastPublisher.publish(spoofed + [Self.knownUplink(1)], port: broker.port)
        try await gateway.waitFor("all processed", timeout: .seconds(60)) {
            let pending = try gateway.status()["uplinks_pending"] as? Int
            let committed = try await gateway.metric("citygate_uplinks_committed_total")
            return pending == 0 && committed == 51
        }
        #expect(try await gateway.metric("citygate_uplinks_quarantined_total{reason=\"device_mismatch\"}") == 50)
        #expect(try rows(gateway, "SELECT count(*) FROM readings WHERE device = '\(victim)'") == "0")
        #expect(try rows(gateway, "SELECT count(*) FROM readings WHERE device = '\(Self.known)'") == "1")
        try await finish("a spoofed TTS device (50 uplinks)", sent: 51, acknowledged: acknowledged, gateway: gateway, broker: broker,
                         note: "50 quarantined device_mismatch, no reading for the victim")
    }

    @Test func deviceClocksAt1970And2106AreNotBelieved() async throws {
        let directory = try TestEnvironment.temporaryDirectory("matrix-clock")
        let broker = try await Broker(directory: directory)
        let gateway = try await GatewayProcess(broker: broker, directory: directory)
        let topic = "application/app/device/\(Self.known)/event/up"
        let uplinks = [("1970-01-01T00:00:00Z", 1), ("2106-02-07T06:28:15Z", 2)].map { time, fCnt in
            (topic, Array(#"{"time":"\#(time)","deviceInfo":{"devEui":"\#(Self.known)"},"fCnt":\#(fCnt),"fPort":1,"data":"AQ=="}"#.utf8))
        }
        let acknowledged = try await FastPublisher.publish(uplinks, port: broker.port)
        try await gateway.waitFor("both decoded", timeout: .seconds(30)) {
            try rows(gateway, "SELECT count(*) FROM readings WHERE device = '\(Self.known)'") == "2"
        }
        #expect(try await gateway.metric("citygate_clock_skewed_uplinks_total") == 2)
        // Both readings carry the arrival time: their windows are this hour's, not 1970's or 2106's.
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let times = try SQLiteRows(path: gateway.database).strings("SELECT time_ms FROM readings").compactMap(Int64.init)
        #expect(times.count == 2 && times.allSatisfy { abs($0 - now) < 600_000 }, "\(times)")
        try await finish("device clocks at 1970 and 2106", sent: 2, acknowledged: acknowledged, gateway: gateway, broker: broker,
                         note: "both readings at arrival time, counted as clock-skewed")
    }

    @Test func aHubAnsweringWith16MiBErrorsCostsAKilobytePerBatch() async throws {
        let directory = try TestEnvironment.temporaryDirectory("matrix-hub")
        let broker = try await Broker(directory: directory)
        let hubPort = TestEnvironment.freePort()
        // A hub that answers every request with 500 and 16 MiB of text.
        let server = """
            import http.server, sys
            body = b"E" * (16 << 20)
            class H(http.server.BaseHTTPRequestHandler):
                def answer(self):
                    self.send_response(500); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
                do_GET = do_POST = do_PATCH = answer
                def log_message(self, *args): pass
            http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
            """
        try server.write(toFile: directory + "/hub.py", atomically: true, encoding: .utf8)
        let hub = try ManagedProcess("/usr/bin/python3", [directory + "/hub.py", "\(hubPort)"], directory: directory, logName: "hub.log")
        #expect(await TestEnvironment.waitForPort(hubPort, timeout: .seconds(10)))
        let config = try TestConfig.shipped(directory, """
            [[hub]]
            name = "broken"
            kind = "sensorthings"
            phenomenon_time = "instant"
            url = "http://127.0.0.1:\(hubPort)/v1.1"
            retry_max = "1s"
            """)
        let gateway = try await GatewayProcess(broker: broker, directory: directory, extra: ["--window", "1s"], config: config)
        _ = try await runSimulator(["--broker", broker.url, "--count", "100", "--rate", "200"], directory: directory)
        try await gateway.waitFor("delivery tried and refused", timeout: .seconds(60)) {
            let committed = try await gateway.metric("citygate_uplinks_committed_total")
            let errors = try await gateway.metric("citygate_delivery_errors_total")
            return committed == 100 && errors >= 2
        }
        let longest = Int(try rows(gateway, "SELECT coalesce(max(length(last_error)), 0) FROM deliveries")) ?? -1
        #expect(longest <= 1024 + 200, "at most 1 KiB of the answer per batch: \(longest)")
        let longestLine = gateway.process.log.split(separator: "\n").map(\.utf8.count).max() ?? 0
        #expect(longestLine < 4096, "log lines stay short: \(longestLine)")
        let peak = gateway.peakRSS ?? 0
        #expect(peak < 64 << 20, "an error answer is not buffered whole: peak RSS \(peak >> 20) MiB")
        FaultMatrix.record("a hub answering with 16 MiB errors", sent: 100, acknowledged: 100,
                           stored: Int(try await gateway.metric("citygate_uplinks_committed_total")), storedTwice: try storedTwice(gateway),
                           up: gateway.process.isRunning, note: "longest stored error \(longest) B, longest log line \(longestLine) B, peak RSS \(peak >> 20) MiB")
        #expect(await gateway.process.stop() == 0)
        hub.forceStop()
        broker.process.forceStop()
    }
}
