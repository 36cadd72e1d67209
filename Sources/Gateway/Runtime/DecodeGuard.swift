import FoundationEssentials
import Glibc
import Synchronization

/// Keeps a decoder that traps on one message from becoming a crash loop.
///
/// Uplinks are decoded in the burst, before their commit (see
/// `BurstRecorder`), so a trap there takes the burst down uncommitted and
/// unacknowledged, and the broker sends it again after the restart. Before
/// each message is decoded, its hash and topic are written to a small file
/// mapped into memory (`<database>.decoding`): a store to memory, no system
/// call, yet in the kernel's page cache when the process dies. The next run
/// reads what the last one was decoding and takes that message as a
/// *suspect*:
///
/// - once (one stop while decoding it): it is committed undecoded and the
///   processing service decodes it on its own, so a gateway killed by chance
///   mid-decode costs the message nothing;
/// - twice (it stopped the processing service too): it is quarantined as
///   `decoder_crash` with its bytes, and `citygate requeue` can try it again
///   once the codec is mended.
///
/// Two slots: ingest's decoding and the processing service's, which may run
/// at the same time.
final class DecodeGuard: Sendable {
    enum Slot: Int, Sendable { case ingest = 0, processing = 1 }

    /// A message the last run was decoding when it stopped.
    struct Suspect: Sendable, Equatable {
        var hash: Int64
        /// Stops while decoding it so far.
        var strikes: Int
        var topic: String
    }

    private static let slotBytes = 512
    private static let topicBytes = slotBytes - 24
    // The mapping is written only through `mark`/`clear` (one thread per slot).
    private nonisolated(unsafe) let memory: UnsafeMutableRawPointer?
    private let suspects: Mutex<[Int64: Int]>
    /// What the last run left in the file, for the start-up log line.
    let leftOver: [Suspect]

    /// A guard that keeps nothing (tests and one-off commands).
    static let disabled = DecodeGuard()

    private init() {
        memory = nil
        suspects = Mutex([:])
        leftOver = []
    }

    /// Maps `path` (made if missing, mode 0600), reads what the last run left
    /// in it and clears it.
    init(path: String) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DecodeGuardError(path: path, call: "open", errno: errno) }
        defer { close(fd) }
        let size = Self.slotBytes * 2
        guard ftruncate(fd, off_t(size)) == 0 else { throw DecodeGuardError(path: path, call: "ftruncate", errno: errno) }
        let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let mapped, mapped != MAP_FAILED else { throw DecodeGuardError(path: path, call: "mmap", errno: errno) }
        memory = mapped
        var found: [Suspect] = []
        for slot in [Slot.ingest, .processing] {
            let base = mapped + slot.rawValue * Self.slotBytes
            let hash = base.loadUnaligned(as: Int64.self)
            guard hash != 0 else { continue }
            let strikes = Int(clamping: base.loadUnaligned(fromByteOffset: 8, as: Int64.self))
            let length = min(max(0, Int(clamping: base.loadUnaligned(fromByteOffset: 16, as: Int64.self))), Self.topicBytes)
            let topic = String(decoding: UnsafeRawBufferPointer(start: base + 24, count: length), as: UTF8.self)
            found.append(Suspect(hash: hash, strikes: min(strikes, 100) + 1, topic: topic))
            base.storeBytes(of: 0, as: Int64.self)
        }
        leftOver = found
        suspects = Mutex(Dictionary(found.map { ($0.hash, $0.strikes) }, uniquingKeysWith: max))
    }

    /// How many times the gateway stopped while decoding this message (0: never).
    func strikes(_ hash: Int64) -> Int {
        suspects.withLock { $0[hash] ?? 0 }
    }

    /// Marks `slot` as decoding this message; call before the decoder runs.
    func mark(_ slot: Slot, hash: Int64, topic: String) {
        guard let memory else { return }
        let base = memory + slot.rawValue * Self.slotBytes
        var text = topic
        let length = text.withUTF8 { bytes in
            let count = min(bytes.count, Self.topicBytes)
            if let start = bytes.baseAddress, count > 0 { (base + 24).copyMemory(from: start, byteCount: count) }
            return count
        }
        base.storeBytes(of: Int64(length), toByteOffset: 16, as: Int64.self)
        base.storeBytes(of: Int64(strikes(hash)), toByteOffset: 8, as: Int64.self)
        // The hash last: a non-zero hash says the slot is in use.
        base.storeBytes(of: hash == 0 ? 1 : hash, as: Int64.self)
    }

    /// `slot` is not decoding anything.
    func clear(_ slot: Slot) {
        memory?.advanced(by: slot.rawValue * Self.slotBytes).storeBytes(of: 0, as: Int64.self)
    }
}

struct DecodeGuardError: Error, CustomStringConvertible {
    var path: String
    var call: String
    var errno: Int32
    var description: String { "decoder guard \(path): \(call) failed: \(String(cString: strerror(errno)))" }
}
