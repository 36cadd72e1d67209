/// A set of MQTT packet identifiers (1–65,535), one bit each: 8 KiB.
struct PacketIdentifierSet {
    private var words = [UInt64](repeating: 0, count: 1024)

    static func holds(_ packetID: Int) -> Bool { packetID > 0 && packetID <= 65_535 }

    func contains(_ packetID: Int) -> Bool { words[packetID >> 6] & (1 << UInt64(packetID & 63)) != 0 }
    mutating func insert(_ packetID: Int) { words[packetID >> 6] |= 1 << UInt64(packetID & 63) }
    mutating func remove(_ packetID: Int) { words[packetID >> 6] &= ~(1 << UInt64(packetID & 63)) }
}
