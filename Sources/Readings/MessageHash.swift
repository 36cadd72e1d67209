/// The redelivery hint kept with each uplink (`uplinks.message_hash`) and
/// the decoder guard's name for a message: 64 bits over its topic and
/// bytes, eight bytes a step.
///
/// It replaced FNV-1a there (migration 15). FNV-1a multiplies once per byte,
/// each multiply waiting for the one before: about 1.5 µs for a 1.2 KB
/// ChirpStack message, the gateway's largest item of its own under load
/// (Benchmarks/RESULTS.md, issue 17). This multiplies once per eight bytes.
///
/// Not a cryptographic hash, and it need not be one: a redelivery match is
/// confirmed by comparing the stored bytes, and only a row whose bytes were
/// pruned matches on topic, packet identifier and this hash alone, inside
/// the duplicate window. Each step is a bijection of the state for a given
/// word, and of the word for a given state, so two messages of one length
/// that differ in one word never collide; each part ends with its length,
/// so moving bytes between topic and message, or adding zero bytes, changes
/// the hash.
///
/// Stored on disk: changing it makes stored hashes miss (a migration must
/// rehash what is kept, as migration 15 does). `MessageHashTests` pins it.
public enum MessageHash {
    public static func of(topic: String, message: [UInt8]) -> Int64 {
        var state: UInt64 = 0x243F_6A88_85A3_08D3
        var topic = topic
        topic.withUTF8 { absorb(&state, UnsafeRawBufferPointer($0)) }
        message.withUnsafeBytes { absorb(&state, $0) }
        // The last words reach every bit of the result.
        state ^= state >> 29
        state &*= 0xBF58_476D_1CE4_E5B9
        state ^= state >> 32
        return Int64(bitPattern: state)
    }

    /// One step: odd multiplier (a bijection), then the high half folded
    /// into the low (so later multiplies carry high bits down too).
    @inline(__always)
    static func mix(_ state: UInt64, _ word: UInt64) -> UInt64 {
        let multiplied = (state ^ word) &* 0x9E37_79B9_7F4A_7C15
        return multiplied ^ (multiplied >> 32)
    }

    /// Eight bytes at a time (little-endian), the rest as one word, then the length.
    static func absorb(_ state: inout UInt64, _ bytes: UnsafeRawBufferPointer) {
        let count = bytes.count
        var offset = 0
        while offset + 8 <= count {
            state = mix(state, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
            offset += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while offset < count {
            tail |= UInt64(bytes[offset]) << shift
            shift += 8
            offset += 1
        }
        state = mix(state, tail)
        state = mix(state, UInt64(count))
    }
}
