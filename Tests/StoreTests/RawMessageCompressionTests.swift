import Foundation
import Readings
import Testing
@testable import Store

/// Raw messages are stored compressed against a dictionary of earlier
/// messages once there are enough of them (migration 14, issue 17): every
/// reader gets the message exactly as it came, before and after the
/// dictionary, across a reopen, and a damaged block is an error, never a trap.
@Suite struct RawMessageCompressionTests {
    /// A ChirpStack-shaped uplink: most of its text is shared with the others.
    static func message(_ index: Int) -> [UInt8] {
        let eui = String(format: "a84041%010x", index % 40)
        let payload = Data((0..<11).map { UInt8(truncatingIfNeeded: index &* 31 &+ $0 &* 7) }).base64EncodedString()
        return Array("""
            {"deduplicationId":"\(UUID().uuidString.lowercased())","time":"2026-11-30T19:\(String(format: "%02d:%02d", index / 60 % 60, index % 60)).123456Z",\
            "deviceInfo":{"tenantId":"52f14cd4-c6f1-4fbd-8f87-4025e1d49242","tenantName":"City pilot",\
            "applicationId":"b3d1c2a4-1f0e-4c77-9a55-5c9e2f7d8a10","applicationName":"Air quality",\
            "deviceProfileId":"0f2d3a6e-5f1b-4a59-8d2c-7e4f1b2a3c4d","deviceProfileName":"Milesight AM319",\
            "deviceName":"am319-\(index % 40)","devEui":"\(eui)","tags":{}},"devAddr":"01\(String(format: "%06x", index % 40))",\
            "adr":true,"dr":5,"fCnt":\(index),"fPort":85,"confirmed":false,"data":"\(payload)",\
            "rxInfo":[{"gatewayId":"0016c001f1500a3b","uplinkId":\(index * 7919 % 65536),"rssi":-\(60 + index % 50),"snr":\(index % 13).5,\
            "channel":\(index % 8),"location":{},"context":"AAAAAA==","metadata":{"region_config_id":"eu868","region_common_name":"EU868"},\
            "crcStatus":"CRC_OK"}],"txInfo":{"frequency":868100000,"modulation":{"lora":{"bandwidth":125000,"spreadingFactor":7,\
            "codeRate":"CR_4_5"}}}}
            """.utf8)
    }

    /// Before the dictionary, messages are stored as they came; after it,
    /// as blocks several times smaller; every one reads back exactly, and
    /// still does after the store is opened again.
    @Test func messagesComeBackExactlyBeforeAndAfterTheDictionary() throws {
        let directory = try EarlierSchema.directory("raw-compression")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/raw.sqlite"
        var sent: [Int64: [UInt8]] = [:]
        do {
            let store = try GatewayStore(path: path)
            for index in 0..<300 {
                let message = Self.message(index)
                guard case let .stored(id) = try store.commitUplink(topic: "application/x/device/y/event/up", message: message, receivedAt: Int64(index)) else {
                    Issue.record("not stored")
                    return
                }
                sent[id] = message
            }
            #expect(try store.connection.scalar("SELECT count(*) FROM raw_dictionaries") == 1)
            let plain = try store.connection.scalar("SELECT count(*) FROM uplink_messages WHERE dictionary IS NULL") ?? 0
            #expect(plain == Int64(RawMessageCompression.samples), "stored as they came until the dictionary was made")
            let original = Double(sent.values.map(\.count).reduce(0, +)) / Double(sent.count)
            let average = Double(try store.connection.scalar(
                "SELECT CAST(avg(length(message)) AS INTEGER) FROM uplink_messages WHERE dictionary IS NOT NULL") ?? 0)
            #expect(average > 0)
            #expect(average * 3 < original, "compressed to \(average) bytes from \(original)")
            let pending = try store.pendingUplinks(limit: 1000)
            #expect(pending.count == 300 && pending.allSatisfy { sent[$0.id] == $0.message })
        }
        // Opened again: the dictionary is read back, old blocks decode, new messages use it.
        let store = try GatewayStore(path: path)
        let late = Self.message(999)
        guard case let .stored(id) = try store.commitUplink(topic: "t", message: late, receivedAt: 999) else { return }
        sent[id] = late
        #expect(try store.connection.scalar("SELECT dictionary FROM uplink_messages WHERE uplink_id = ?", [.integer(id)]) == 1)
        let pending = try store.pendingUplinks(limit: 1000)
        #expect(pending.count == 301 && pending.allSatisfy { sent[$0.id] == $0.message })
    }

    /// A damaged dictionary does not stop the store opening: new messages
    /// are stored as they came, then against a new dictionary; a block that
    /// needs the damaged one is an error when read, never a trap.
    @Test func aDamagedDictionaryDoesNotStopTheStore() throws {
        let directory = try EarlierSchema.directory("raw-damaged-dictionary")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/raw.sqlite"
        do {
            let store = try GatewayStore(path: path)
            for index in 0..<100 { _ = try store.commitUplink(topic: "t", message: Self.message(index), receivedAt: Int64(index)) }
            try store.connection.run("UPDATE raw_dictionaries SET bytes = zeroblob(70000)")
        }
        let store = try GatewayStore(path: path)
        #expect(throws: StoreDataError.self) { try store.pendingUplinks(limit: 1000) }
        for index in 100..<200 { _ = try store.commitUplink(topic: "t", message: Self.message(index), receivedAt: Int64(index)) }
        #expect(try store.connection.scalar("SELECT count(*) FROM raw_dictionaries") == 2)
        #expect(try store.connection.scalar("SELECT count(*) FROM uplink_messages WHERE dictionary = 2") ?? 0 > 0)
    }

    /// A broker's redelivery of a message stored compressed is recognised
    /// by its bytes, as one stored as it came is.
    @Test func aRedeliveryOfACompressedMessageIsRecognised() throws {
        let directory = try EarlierSchema.directory("raw-redelivery")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try GatewayStore(path: directory + "/raw.sqlite")
        for index in 0..<100 {
            _ = try store.commitUplink(topic: "t", message: Self.message(index), receivedAt: 1_000 + Int64(index),
                                       delivery: BrokerDelivery(packetID: index + 1, connectedAt: 0))
        }
        let message = Self.message(100)
        guard case let .stored(id) = try store.commitUplink(topic: "t", message: message, receivedAt: 2_000,
                                                            delivery: BrokerDelivery(packetID: 500, connectedAt: 0)) else { return }
        #expect(try store.connection.scalar("SELECT dictionary FROM uplink_messages WHERE uplink_id = ?", [.integer(id)]) != nil)
        // After a reconnect the broker sends it again, same packet id.
        #expect(try store.commitUplink(topic: "t", message: message, receivedAt: 2_500, delivery: BrokerDelivery(packetID: 500, connectedAt: 2_400))
                == .duplicate(of: id))
        // Another message that reuses the id after the PUBACK is new.
        #expect(try store.commitUplink(topic: "t", message: Self.message(101), receivedAt: 2_600, delivery: BrokerDelivery(packetID: 500, connectedAt: 2_400))
                != .duplicate(of: id))
    }

    /// Migration 15: a database from before it holds FNV-1a hashes. The
    /// rows a redelivery is checked against (one per packet identifier) are
    /// hashed again from their bytes, stored as they came or compressed, so
    /// messages committed before the upgrade and resent after it are still
    /// recognised as the broker's redeliveries.
    @Test func aRedeliveryOfAMessageHashedBeforeMigration15IsRecognised() throws {
        let directory = try EarlierSchema.directory("raw-rehash")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/raw.sqlite"
        func fnv1a(_ topic: String, _ message: [UInt8]) -> Int64 {
            var hash = FNV1a()
            hash.add(topic.utf8)
            hash.add(CollectionOfOne(0))
            hash.add(message)
            return hash.value
        }
        var ids: [Int: Int64] = [:]
        let messages = (0..<100).map(Self.message)  // each with an id of its own, as sent
        do {
            // Committed by this release (the first 64 as they came, the rest
            // compressed), then turned back into what version 14 left: FNV-1a.
            let store = try GatewayStore(path: path)
            for index in 0..<100 {
                guard case let .stored(id) = try store.commitUplink(topic: "t/\(index % 3)", message: messages[index], receivedAt: 1_000 + Int64(index),
                                                                    delivery: BrokerDelivery(packetID: index + 1, connectedAt: 0)) else { return }
                ids[index] = id
                try store.connection.run("UPDATE uplinks SET message_hash = ? WHERE id = ?", [.integer(fnv1a("t/\(index % 3)", messages[index])), .integer(id)])
            }
            // One row's bytes were pruned by the size bound: nothing to hash again.
            try store.connection.run("UPDATE uplink_messages SET message = x'' WHERE uplink_id = ?", [.integer(ids[5]!)])
            // Migration 15 as a database from before it would run it (a
            // version-14 file rewound from this schema would not take the later migrations).
            try store.connection.transaction { try Schema.rehashRecentMessages(store.connection) }
        }
        let store = try GatewayStore(path: path)
        #expect(store.schemaVersion == Schema.version)
        // Both forms are among the rows hashed again.
        #expect(try store.connection.scalar("SELECT count(*) FROM uplink_messages WHERE dictionary IS NOT NULL") ?? 0 > 0)
        #expect(try store.connection.scalar("SELECT count(*) FROM uplink_messages WHERE dictionary IS NULL") ?? 0 > 1)
        for index in 0..<100 where index != 5 {
            let resent = try store.commitUplink(topic: "t/\(index % 3)", message: messages[index], receivedAt: 3_000,
                                                delivery: BrokerDelivery(packetID: index + 1, connectedAt: 2_000))
            #expect(resent == .duplicate(of: ids[index]!), "message \(index)")
            #expect(fnv1a("t/\(index % 3)", messages[index]) != GatewayStore.messageHash(topic: "t/\(index % 3)", message: messages[index]))
        }
        // The pruned row keeps its old hash, so its message is taken as new
        // (its frame counter would find the copy during processing).
        guard case .stored = try store.commitUplink(topic: "t/2", message: messages[5], receivedAt: 3_000,
                                                    delivery: BrokerDelivery(packetID: 6, connectedAt: 2_000)) else {
            Issue.record("a pruned row matched on a hash it could not have")
            return
        }
    }

    /// Every cut of a valid block, and random blocks, decode to an error or
    /// to exactly the length they state: never a trap, never past the buffer.
    @Test func aDamagedBlockIsAnErrorNeverATrap() throws {
        var samples: [UInt8] = []
        for index in 0..<40 { samples += Self.message(index) }
        guard let dictionary = RawMessageDictionary(id: 1, bytes: Array(samples.suffix(RawMessageDictionary.maximumBytes))) else {
            Issue.record("no dictionary")
            return
        }
        let compression = RawMessageCompression()
        let message = Self.message(77)
        guard let block = RawMessageCodec.compress(message, with: dictionary, working: compression.working) else {
            Issue.record("did not compress")
            return
        }
        #expect(try RawMessageCodec.decompress(block, with: dictionary) == message)
        for cut in 0..<block.count {
            #expect(throws: StoreDataError.self) { try RawMessageCodec.decompress(Array(block.prefix(cut)), with: dictionary) }
        }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        for round in 0..<3_000 {
            var damaged = round % 2 == 0 ? block : (0..<Int(next() % 300)).map { _ in UInt8(truncatingIfNeeded: next()) }
            if round % 2 == 0 { damaged[Int(next() % UInt64(damaged.count))] ^= UInt8(truncatingIfNeeded: next() | 1) }
            if let decoded = try? RawMessageCodec.decompress(damaged, with: dictionary) {
                let stated = damaged.prefix(4).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
                #expect(decoded.count == stated)
            }
        }
    }
}
