import Foundation
import Testing

/// A message over `[mqtt] max_payload_bytes` (issue 15, item 5): quarantined
/// at ingest as `oversized` with its length, SHA-256 and first 4 KiB; the
/// rest is never stored, and the gateway's memory stays bounded.
@Suite(.serialized) struct OversizedMessageTests {
    static let device = "a840410000000301"
    static let topic = "application/app/device/\(device)/event/up"

    func storeBytes(_ database: String) -> Int {
        ["", "-wal"].reduce(0) { total, suffix in
            total + ((try? FileManager.default.attributesOfItem(atPath: database + suffix)[.size] as? Int) ?? 0)
        }
    }

    @Test func anOversizedMessageIsQuarantinedWithoutStoringIt() async throws {
        let directory = try TestEnvironment.temporaryDirectory("oversized")
        let broker = try await Broker(directory: directory)
        let gateway = try await GatewayProcess(broker: broker, directory: directory)
        try broker.publish(topic: Self.topic, message: #"{"deviceInfo":{"devEui":"\#(Self.device)"},"fCnt":1,"fPort":1,"data":"AQ=="}"#)
        try await gateway.waitFor("the first uplink", timeout: .seconds(20)) {
            try await gateway.metric("citygate_uplinks_committed_total") == 1
        }
        let before = storeBytes(gateway.database)
        let settled = try #require(gateway.peakRSS)

        // 8 MiB of varied bytes (not compressible, not a run of one value); 30 MB in the full fault matrix.
        let size = FaultMatrix.isFull ? 30_000_000 : 8 << 20
        var bytes = [UInt8](repeating: 0, count: size)
        var state: UInt32 = 2_463_534_242
        for index in bytes.indices {
            state ^= state << 13; state ^= state >> 17; state ^= state << 5
            bytes[index] = UInt8(truncatingIfNeeded: state)
        }
        let file = directory + "/big.bin"
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let digest = String(decoding: try capture("/usr/bin/sha256sum", [file]).output, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
        let publish = try capture("/usr/bin/mosquitto_pub", ["-h", "127.0.0.1", "-p", "\(broker.port)", "-q", "1", "-t", Self.topic, "-f", file])
        #expect(publish.status == 0)
        try broker.publish(topic: Self.topic, message: #"{"deviceInfo":{"devEui":"\#(Self.device)"},"fCnt":2,"fPort":1,"data":"AQ=="}"#)

        try await gateway.waitFor("the oversized message quarantined and the next uplink decoded", timeout: .seconds(30)) {
            let status = try gateway.status()
            return try await gateway.metric("citygate_uplinks_quarantined_total{reason=\"oversized\"}") == 1
                && status["uplinks_pending"] as? Int == 0 && status["readings_stored"] as? Int == 2
        }
        let rows = try SQLiteRows(path: gateway.database)
        let quarantined = try rows.strings("SELECT q.category || '|' || q.reason || '|' || length(m.message) FROM quarantine q JOIN uplink_messages m ON m.uplink_id = q.uplink_id")
        #expect(quarantined == ["oversized|\(size) bytes over the 65536-byte payload limit; sha256 \(digest); the first 4096 bytes kept|4096"], "\(quarantined)")
        #expect(gateway.process.log.contains("oversized message quarantined"))
        // Bounded: the store grew by far less than the message, the process stayed small.
        let growth = storeBytes(gateway.database) - before
        #expect(growth < 1 << 20, "the store grew by \(growth) bytes")
        let peak = try #require(gateway.peakRSS)
        // libmosquitto holds the whole packet while it reads it, and a copy of
        // its payload for the callback: twice the message. The gateway keeps
        // none of it (its length, digest and first 4 KiB only). Measured as
        // growth over the peak before the message, not as an absolute figure:
        // a debug build's resident code alone is some 40 MiB and grows with
        // every feature. One more whole copy would add another 8 MiB.
        #expect(peak - settled < 2 * size + (6 << 20), "peak RSS \(peak >> 20) MiB, \(settled >> 20) MiB before the message")
        // Requeue leaves it alone: its bytes are not whole.
        let requeue = try capture(TestEnvironment.citygate, ["requeue", "--config", TestEnvironment.packageRoot + "/Config/citygate.toml",
                                                             "--database", gateway.database])
        #expect(requeue.status == 0)
        #expect(try rows.strings("SELECT count(*) FROM quarantine WHERE category = 'oversized'") == ["1"])
        FaultMatrix.record("a \(size / 1_000_000) MB payload", sent: 3, acknowledged: 3,
                           stored: Int(try await gateway.metric("citygate_uplinks_committed_total")), storedTwice: 0, up: gateway.process.isRunning,
                           note: "quarantined oversized (4 KiB, length, SHA-256 kept); store grew \(growth >> 10) KiB; peak RSS \(peak >> 20) MiB")
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }

    /// The shipped broker drop-in's `max_packet_size` matches the payload cap:
    /// a real mosquitto with that line refuses the big publish at the door.
    @Test func theShippedBrokerLimitRefusesTheMessageBeforeTheGatewaySeesIt() async throws {
        let shipped = try String(contentsOfFile: TestEnvironment.packageRoot + "/Config/mosquitto.conf", encoding: .utf8)
        let limitLine = try #require(shipped.split(separator: "\n").first { $0.hasPrefix("max_packet_size ") })
        let limit = try #require(Int(limitLine.split(separator: " ")[1]))
        #expect((64 << 10) + 256 <= limit && limit <= (64 << 10) + 4096, "room for a topic and header beyond the 64 KiB cap: \(limit)")

        let directory = try TestEnvironment.temporaryDirectory("oversized-broker")
        let broker = try await Broker(directory: directory, listener: String(limitLine) + "\n")
        let gateway = try await GatewayProcess(broker: broker, directory: directory)
        let file = directory + "/big.bin"
        try Data(repeating: 0x41, count: 200 << 10).write(to: URL(fileURLWithPath: file))
        _ = try capture("/usr/bin/mosquitto_pub", ["-h", "127.0.0.1", "-p", "\(broker.port)", "-q", "1", "-t", Self.topic, "-f", file])
        try broker.publish(topic: Self.topic, message: #"{"deviceInfo":{"devEui":"\#(Self.device)"},"fCnt":1,"fPort":1,"data":"AQ=="}"#)
        try await gateway.waitFor("the small uplink", timeout: .seconds(20)) {
            try await gateway.metric("citygate_uplinks_committed_total") == 1
        }
        #expect(try await gateway.metric("citygate_uplinks_received_total") == 1, "the 200 KiB publish never reached the gateway")
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }
}
