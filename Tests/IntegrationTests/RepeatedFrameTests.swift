import Foundation
import Testing

/// A counterless NB-IoT device that reports the same bytes again (issue 15,
/// item 3): a waste bin whose fill level has not changed sends an identical
/// frame. A repeat after `uncounted_duplicate_window` (10 s by default) is
/// a new uplink with its own readings; one within it is a transport retry.
/// The broker gives each publish its own packet id, so neither is taken for
/// a redelivery at ingest.
@Suite(.serialized) struct RepeatedFrameTests {
    /// A Milesight EM400-UDL payload sent bare as hex text (no NB-IoT frame
    /// header, so no frame counter): the device is the topic's last level.
    static let imei = "868508064807350"
    static let frame = "01756403670B0104823B01050001"

    @Test func identicalFramesTwelveSecondsApartAreTwoUplinksTwoSecondsApartOne() async throws {
        let directory = try TestEnvironment.temporaryDirectory("repeat")
        let broker = try await Broker(directory: directory)
        try """
            [[device]]
            id = "\(Self.imei)"
            codec = "milesight:em400-udl"
            kind = "waste_bin"
            interval = "10m"
            """.write(toFile: directory + "/devices.toml", atomically: true, encoding: .utf8)
        try """
            [gateway]
            device_registry = "devices.toml"
            [[mqtt.subscription]]
            topic = "nbiot/+"
            envelope = "nbiot"
            """.write(toFile: directory + "/citygate.toml", atomically: true, encoding: .utf8)
        let gateway = try await GatewayProcess(broker: broker, directory: directory, config: directory + "/citygate.toml")
        let topic = "nbiot/\(Self.imei)"

        // Paced on a thread of its own: under the parallel suite a task's 2 s
        // sleep once lasted 14 s, and the retry became a new report.
        try await offThePool { [broker] in
            try broker.publish(topic: topic, message: Self.frame)
            Thread.sleep(forTimeInterval: 2)
            try broker.publish(topic: topic, message: Self.frame)   // a transport retry
            Thread.sleep(forTimeInterval: 10)
            try broker.publish(topic: topic, message: Self.frame)   // 12 s after the first: the next report
        }

        let rows = try SQLiteRows(path: gateway.database)
        try await gateway.waitFor("three uplinks processed", timeout: .seconds(20)) {
            try rows.strings("SELECT count(*) FROM uplinks WHERE state <> 0") == ["3"]
        }
        #expect(try await gateway.metric("citygate_uplinks_duplicate_total{stage=\"redelivery\"}") == 0)
        #expect(try rows.strings("SELECT state FROM uplinks ORDER BY id") == ["1", "3", "1"], "decoded, duplicate frame, decoded")
        let readings = try rows.strings("SELECT metric || '=' || value FROM readings WHERE device = '\(Self.imei)' ORDER BY uplink_id, position")
        #expect(readings.count == 6 && Array(readings[..<3]) == Array(readings[3...]), "twice the readings: \(readings)")
        FaultMatrix.record("identical NB-IoT frames 2 s and 12 s apart", sent: 3, acknowledged: 3,
                           stored: Int(try rows.strings("SELECT count(*) FROM uplinks").first ?? "") ?? 0, storedTwice: 0, up: gateway.process.isRunning,
                           note: "12 s: a second uplink with its readings; 2 s: a transport retry, counted")
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }

    @Test func aRegistryIntervalShorterThanTheRetryWindowIsRefused() throws {
        let directory = try TestEnvironment.temporaryDirectory("repeat-config")
        try "[[device]]\nid = \"\(Self.imei)\"\ncodec = \"milesight:em400-udl\"\nkind = \"waste_bin\"\ninterval = \"5s\"\n"
            .write(toFile: directory + "/devices.toml", atomically: true, encoding: .utf8)
        try "[gateway]\ndevice_registry = \"devices.toml\"\n".write(toFile: directory + "/citygate.toml", atomically: true, encoding: .utf8)
        let check = try ManagedProcess(TestEnvironment.citygate, ["check-config", "--config", directory + "/citygate.toml"],
                                       directory: directory, logName: "check.log")
        check.process.waitUntilExit()
        #expect(check.process.terminationStatus == 78)
        #expect(check.log.contains("shorter than [store] uncounted_duplicate_window"), "\(check.log)")
    }
}
