import Foundation
import MQTT
import Synchronization

/// The fault matrix of issue 15: each fault test adds its row as a JSON line
/// to the file named by CITYGATE_FAULT_MATRIX (`scripts/fault-test.sh`
/// renders them as a table). CITYGATE_FAULT_SCALE=full runs the full sizes
/// (200,000 unknown-device uplinks, a 30 MB payload); CI runs the short ones.
///
/// Columns: uplinks sent; acknowledged to the sender by the broker (QoS 1);
/// stored (committed by the gateway, each exactly once, whatever became of
/// it after: decoded, quarantined, counted in a flood, pruned by the bound);
/// lost (acknowledged, never committed); stored twice; daemon still up.
enum FaultMatrix {
    static var isFull: Bool { ProcessInfo.processInfo.environment["CITYGATE_FAULT_SCALE"] == "full" }

    static func record(_ fault: String, sent: Int, acknowledged: Int, stored: Int, storedTwice: Int, up: Bool, note: String = "") {
        guard let path = ProcessInfo.processInfo.environment["CITYGATE_FAULT_MATRIX"] else { return }
        let row: [String: Any] = ["fault": fault, "sent": sent, "acknowledged": acknowledged, "stored": stored,
                                  "lost": max(0, acknowledged - stored), "stored_twice": storedTwice, "up": up, "note": note]
        guard var data = try? JSONSerialization.data(withJSONObject: row, options: [.sortedKeys]) else { return }
        data.append(0x0A)
        // O_APPEND: rows from tests running in parallel never overwrite each other.
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { return }
        _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
}

/// Publishes many QoS 1 messages fast from the test process (libmosquitto's
/// own loop) and waits until the broker has acknowledged each.
enum FastPublisher {
    static func publish(_ messages: [(topic: String, payload: [UInt8])], port: Int, timeout: Duration = .seconds(600)) async throws -> Int {
        let client = try MQTTClient(options: MQTTOptions(port: port, clientID: "matrix-\(UUID().uuidString.prefix(8))", cleanSession: true, maxInflight: 200))
        let acknowledged = Atomic<Int>(0)
        client.onPublished = { _ in acknowledged.add(1, ordering: .relaxed) }
        try client.start()
        guard await client.waitUntilConnected(timeout: .seconds(10)) else { throw FixtureError("the publisher could not connect") }
        for message in messages { try client.publish(message.topic, payload: message.payload, qos: 1) }
        let deadline = ContinuousClock.now + timeout
        while acknowledged.load(ordering: .relaxed) < messages.count && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        client.stop()
        return acknowledged.load(ordering: .relaxed)
    }
}
