import Readings
import Testing

/// The redelivery hint over topic and message (`MessageHash`): stored on
/// disk, so pinned; and it tells apart the messages a broker could confuse.
@Suite struct MessageHashTests {
    static let topic = "application/0b8f/device/a84041000000001a/event/up"

    /// A ChirpStack-shaped message of about 1.2 KB, differing by `index`.
    static func message(_ index: Int) -> [UInt8] {
        let text = """
            {"deduplicationId":"3f1c2a4e-0000-4000-8000-\(String(repeating: "0", count: 12 - String(index).count))\(index)",\
            "time":"2026-11-30T19:00:00.123456Z","deviceInfo":{"tenantName":"City pilot","applicationName":"Parking",\
            "deviceProfileName":"Nwave parking sensor","deviceName":"bay-\(index % 500)","devEui":"a84041000000001a"},\
            "fCnt":\(index),"fPort":1,"data":"AQ==","rxInfo":[{"gatewayId":"0016c001f1500a3b","rssi":-\(60 + index % 50),"snr":7.5}]}
            """
        return Array((text + String(repeating: " ", count: max(0, 1_200 - text.utf8.count))).utf8)
    }

    /// Values as this release stores them. A change here breaks the redelivery
    /// check of every upgraded database unless a migration rehashes its rows.
    @Test func storedValuesAreStable() {
        #expect(MessageHash.of(topic: "", message: []) == Self.pinned[0])
        #expect(MessageHash.of(topic: "t", message: [1]) == Self.pinned[1])
        #expect(MessageHash.of(topic: Self.topic, message: Self.message(7)) == Self.pinned[2])
    }

    static let pinned: [Int64] = [-4_260_785_255_725_482_853, -1_794_861_931_638_275_282, -4_926_268_813_772_781_278]

    @Test func everySingleBitFlipChangesTheHash() {
        let topic = Self.topic, message = Self.message(1)
        let original = MessageHash.of(topic: topic, message: message)
        var seen: Set<Int64> = [original]
        for byte in message.indices {
            for bit in 0..<8 {
                var flipped = message
                flipped[byte] ^= 1 << bit
                seen.insert(MessageHash.of(topic: topic, message: flipped))
            }
        }
        #expect(seen.count == message.count * 8 + 1, "each of the \(message.count * 8) flips has a hash of its own")
    }

    @Test func theBoundaryBetweenTopicAndMessageAndTrailingZerosCount() {
        #expect(MessageHash.of(topic: "ab", message: Array("c".utf8)) != MessageHash.of(topic: "a", message: Array("bc".utf8)))
        #expect(MessageHash.of(topic: "t", message: [0]) != MessageHash.of(topic: "t", message: []))
        #expect(MessageHash.of(topic: "t", message: [0, 0, 0, 0, 0, 0, 0, 0]) != MessageHash.of(topic: "t", message: [0, 0, 0, 0, 0, 0, 0]))
        // Every length of zeros from 0 to 64 bytes, in both parts: all different.
        var seen: Set<Int64> = []
        for length in 0...64 {
            seen.insert(MessageHash.of(topic: "t", message: [UInt8](repeating: 0, count: length)))
            seen.insert(MessageHash.of(topic: String(repeating: "\0", count: length), message: []))
        }
        #expect(seen.count == 130)
    }

    @Test func aFleetsWorthOfSimilarMessagesHasNoCollision() {
        // 200,000 messages differing only in a counter, a device number and an rssi.
        var seen = Set<Int64>(minimumCapacity: 200_000)
        for index in 0..<200_000 { seen.insert(MessageHash.of(topic: Self.topic, message: Self.message(index))) }
        #expect(seen.count == 200_000)
    }
}
