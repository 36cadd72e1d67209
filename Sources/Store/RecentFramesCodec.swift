import Readings

/// The `recent_frames` column of `device_sessions` (migration 12): what a
/// session remembers of the frames it kept (`RecentFrames`), little-endian:
///
///     u8 version (1), i64 last kept at,
///     u8 n, n × u64 decoded counters (bit i: highest − i; trailing zero words left out),
///     u8 m, m × u64 quarantined counters (likewise),
///     u8 k, k × (i64 fingerprint, i64 seen at)
///
/// About 80 bytes for a device that sends steadily, so a batch rewrites a
/// device's session row and nothing else to remember its frames. Read back
/// with bounds checks: a damaged blob is a `StoreDataError`, never a trap.
enum RecentFramesCodec {
    static let version: UInt8 = 1

    static func encode(_ recent: RecentFrames) -> [UInt8] {
        var bytes: [UInt8] = [version]
        bytes.reserveCapacity(1 + 8 + 2 * (1 + 32) + 1 + 16 * recent.fingerprints.count)
        bytes.appendWord(UInt64(bitPattern: recent.lastKeptAt))
        for window in [recent.decoded, recent.quarantined] {
            let words = window.words
            let used = (words.lastIndex { $0 != 0 } ?? -1) + 1
            bytes.append(UInt8(used))
            for word in words.prefix(used) { bytes.appendWord(word) }
        }
        let fingerprints = recent.fingerprints.suffix(RecentFrames.fingerprintCapacity)
        bytes.append(UInt8(fingerprints.count))
        for fingerprint in fingerprints {
            bytes.appendWord(UInt64(bitPattern: fingerprint.value))
            bytes.appendWord(UInt64(bitPattern: fingerprint.seenAt))
        }
        return bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> RecentFrames {
        var reader = BlobReader(bytes, damaged: damaged)
        func window() throws -> CounterWindow {
            let count = Int(try reader.byte())
            guard count <= CounterWindow.span / 64 else { throw damaged }
            return CounterWindow(words: try (0..<count).map { _ in try reader.word() })
        }
        guard try reader.byte() == version else { throw damaged }
        let lastKeptAt = Int64(bitPattern: try reader.word())
        let decoded = try window(), quarantined = try window()
        let count = Int(try reader.byte())
        guard count <= RecentFrames.fingerprintCapacity else { throw damaged }
        let fingerprints = try (0..<count).map { _ in
            SeenFingerprint(value: Int64(bitPattern: try reader.word()), seenAt: Int64(bitPattern: try reader.word()))
        }
        guard reader.isAtEnd else { throw damaged }
        return RecentFrames(lastKeptAt: lastKeptAt, decoded: decoded, quarantined: quarantined, fingerprints: fingerprints)
    }

    private static let damaged = StoreDataError(message: "a damaged device session (recent_frames) in the database")
}
