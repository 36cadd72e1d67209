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

    /// A QoS 1 publish while the broker is away is queued by libmosquitto
    /// (MOSQ_ERR_NO_CONN, with a message id) and sent once it is back: the
    /// client returns it as published, and its acknowledgement comes. At QoS 0
    /// the same publish is a failure.
    @Test func aPublishWhileTheBrokerIsAwayIsSentWhenItReturns() async throws {
        let directory = try TestEnvironment.temporaryDirectory("publish-away")
        var broker = try await Broker(directory: directory)
        let client = try MQTTClient(options: MQTTOptions(port: broker.port, clientID: "publish-away", cleanSession: true))
        let acknowledged = Mutex<[Int32]>([])
        client.onPublished = { mid in acknowledged.withLock { $0.append(mid) } }
        try client.start()
        #expect(await client.waitUntilConnected(timeout: .seconds(10)))
        broker.process.forceStop()
        let deadline = ContinuousClock.now + .seconds(10)
        while client.isConnected && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!client.isConnected)

        let mid = try client.publish("probe/away", payload: Array("kept".utf8), qos: 1)
        #expect(mid != 0)
        #expect(throws: MQTTError.self, "QoS 0 has nothing to keep it") { try client.publish("probe/away", payload: [1], qos: 0) }

        broker = try await Broker(directory: directory, port: broker.port)
        let until = ContinuousClock.now + .seconds(30)
        while !acknowledged.withLock({ $0.contains(mid) }) && ContinuousClock.now < until { try await Task.sleep(for: .milliseconds(50)) }
        #expect(acknowledged.withLock { $0 } == [mid], "acknowledged once the broker was back")
        client.stop()
        broker.process.forceStop()
    }
}
