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
        let fingerprints = recent.fingerprints.suffix(RecentFrames.fingerprintCapacity)
        let capacity = 1 + 8 + length(recent.decoded) + length(recent.quarantined) + 1 + 16 * fingerprints.count
        return ByteWriter.array(capacity: capacity) { out in
            out.byte(version)
            out.word(UInt64(bitPattern: recent.lastKeptAt))
            append(recent.decoded, to: &out)
            append(recent.quarantined, to: &out)
            out.byte(UInt8(fingerprints.count))
            for fingerprint in fingerprints {
                out.word(UInt64(bitPattern: fingerprint.value))
                out.word(UInt64(bitPattern: fingerprint.seenAt))
            }
        }
    }

    /// A window's words up to its last non-zero one (trailing zeros are implied).
    private static func used(_ window: CounterWindow) -> Int {
        (0..<CounterWindow.wordCount).last { window[word: $0] != 0 }.map { $0 + 1 } ?? 0
    }

    /// The bytes `append` writes for a window.
    private static func length(_ window: CounterWindow) -> Int { 1 + 8 * used(window) }

    /// A window: its count of words, then those words.
    private static func append(_ window: CounterWindow, to out: inout ByteWriter) {
        let used = used(window)
        out.byte(UInt8(used))
        for index in 0..<used { out.word(window[word: index]) }
    }

    static func decode(_ bytes: [UInt8]) throws -> RecentFrames {
        var reader = BlobReader(bytes, damaged: damaged)
        func window() throws -> CounterWindow {
            let count = Int(try reader.byte())
            guard count <= CounterWindow.wordCount else { throw damaged }
            var window = CounterWindow()
            for index in 0..<count { window[word: index] = try reader.word() }
            return window
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
