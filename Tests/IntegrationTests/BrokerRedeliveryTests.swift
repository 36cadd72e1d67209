import Foundation
import MQTT
import Synchronization
import Testing

/// What the gateway's redelivery check rests on, checked against the real
/// mosquitto here: a QoS 1 message the client withholds the PUBACK of is sent
/// again on the next connection of the persistent session, with the same
/// packet identifier; and a new message with the same bytes gets a new one.
@Suite(.serialized) struct BrokerRedeliveryTests {
    @Test func aWithheldMessageComesBackWithItsPacketIdentifier() async throws {
        let directory = try TestEnvironment.temporaryDirectory("redelivery")
        let broker = try await Broker(directory: directory)
        let client = try MQTTClient(options: MQTTOptions(port: broker.port, clientID: "redelivery-probe", cleanSession: false))
        // (payload, packet id) per delivery; the first burst with a message is withheld.
        let seen = Mutex<[(String, Int)]>([])
        let withheld = Atomic<Bool>(false)
        client.onMessage = { _, payload, _, packetID in
            seen.withLock { $0.append((String(decoding: payload, as: UTF8.self), packetID)) }
        }
        client.onReadBurstEnd = {
            // Bursts without a message (CONNACK, SUBACK) are acknowledged as they are.
            guard seen.withLock({ $0.count }) == 1, !withheld.exchange(true, ordering: .relaxed) else { return .acknowledge }
            return .withhold(reconnect: true)
        }
        client.subscribe("probe/#", qos: 1)
        try client.start(readBursts: true)
        #expect(await client.waitUntilConnected(timeout: .seconds(10)))
        try await Task.sleep(for: .milliseconds(300))  // the SUBACK

        try broker.publish(topic: "probe/a", message: "same bytes")
        let deadline = ContinuousClock.now + .seconds(15)
        while seen.withLock({ $0.count }) < 2 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        try broker.publish(topic: "probe/a", message: "same bytes")
        while seen.withLock({ $0.count }) < 3 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        client.stop()

        let deliveries = seen.withLock { $0 }
        #expect(deliveries.count == 3, "\(deliveries)")
        guard deliveries.count == 3 else { return }
        #expect(deliveries[0].1 != 0 && deliveries[0].1 == deliveries[1].1, "the redelivery has the original's packet id: \(deliveries)")
        #expect(deliveries[2].1 != deliveries[0].1, "a new publish of the same bytes has a new packet id: \(deliveries)")
        #expect(client.connections >= 2)
        broker.process.forceStop()
    }
}
