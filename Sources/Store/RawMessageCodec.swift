import CLZ4
import Readings

/// A dictionary that raw messages are compressed against: the bytes of
/// earlier messages, as stored in `raw_dictionaries` (at most 64 KiB, LZ4's
/// window). Messages of one network server share most of their text (keys,
/// tenant and application ids, gateway ids, the device profile), so a
/// message compresses against its predecessors several times better than
/// on its own (Benchmarks/RESULTS.md, issue 17).
///
/// LZ4 refers to the dictionary by address, so its bytes live in a buffer of
/// their own; `template` is a stream with the dictionary loaded once, copied
/// for each message instead of loading the dictionary again (which hashes
/// all of it).
// @unchecked: immutable after init; the buffers are only read.
final class RawMessageDictionary: @unchecked Sendable {
    static let maximumBytes = 64 * 1024
    let id: Int64
    let bytes: UnsafeMutableBufferPointer<UInt8>
    fileprivate let template: UnsafeMutablePointer<LZ4_stream_t>

    init?(id: Int64, bytes source: [UInt8]) {
        guard !source.isEmpty, source.count <= Self.maximumBytes, let stream = LZ4_createStream() else { return nil }
        self.id = id
        bytes = .allocate(capacity: source.count)
        _ = bytes.initialize(from: source)
        template = stream
        _ = LZ4_loadDict(template, UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self), Int32(bytes.count))
    }

    deinit {
        LZ4_freeStream(template)
        bytes.deallocate()
    }
}

/// Raw messages as `uplink_messages` stores them: as they came, or (with a
/// dictionary id beside them) as an LZ4 block against that dictionary:
///
///     u32 little-endian: the message's length; the LZ4 block
///
/// A message is compressed only when that saves bytes. Reading back is
/// bounds-checked by LZ4's safe decoder: a block that does not decode to
/// exactly its stated length is a `StoreDataError`, never a trap. (LZ4
/// keeps no checksum: like any damaged page, a flipped byte may decode to
/// other bytes of the right length.)
enum RawMessageCodec {
    /// A message longer than this is never stored compressed (an MQTT
    /// message is at most 256 MiB; the gateway's `max_payload` is far less).
    static let maximumLength = 64 << 20

    /// The block for `message`, or nil when it would not be smaller.
    /// `working` is scratch space for LZ4's state, overwritten each call.
    static func compress(_ message: [UInt8], with dictionary: RawMessageDictionary, working: UnsafeMutablePointer<LZ4_stream_t>) -> [UInt8]? {
        guard message.count > 8, message.count <= maximumLength else { return nil }
        let bound = Int(LZ4_compressBound(Int32(message.count)))
        working.update(from: dictionary.template, count: 1)
        let block = [UInt8](unsafeUninitializedCapacity: 4 + bound) { out, initialized in
            let length = UInt32(message.count)
            for shift in 0..<4 { out[shift] = UInt8(truncatingIfNeeded: length >> (8 * shift)) }
            let written = message.withUnsafeBufferPointer { source -> Int32 in
                guard let from = source.baseAddress, let to = out.baseAddress else { return 0 }
                return LZ4_compress_fast_continue(working, UnsafeRawPointer(from).assumingMemoryBound(to: CChar.self),
                                                  UnsafeMutableRawPointer(to + 4).assumingMemoryBound(to: CChar.self),
                                                  Int32(message.count), Int32(bound), 1)
            }
            initialized = written > 0 ? 4 + Int(written) : 0
        }
        return !block.isEmpty && block.count < message.count ? block : nil
    }

    static func decompress(_ block: [UInt8], with dictionary: RawMessageDictionary) throws -> [UInt8] {
        guard block.count > 4 else { throw damaged }
        var length = 0
        for shift in 0..<4 { length |= Int(block[shift]) << (8 * shift) }
        guard length > 0, length <= maximumLength else { throw damaged }
        let message = [UInt8](unsafeUninitializedCapacity: length) { out, initialized in
            let read = block.withUnsafeBufferPointer { source -> Int32 in
                guard let from = source.baseAddress, let to = out.baseAddress, let words = dictionary.bytes.baseAddress else { return -1 }
                return LZ4_decompress_safe_usingDict(UnsafeRawPointer(from + 4).assumingMemoryBound(to: CChar.self),
                                                     UnsafeMutableRawPointer(to).assumingMemoryBound(to: CChar.self),
                                                     Int32(block.count - 4), Int32(length),
                                                     UnsafeRawPointer(words).assumingMemoryBound(to: CChar.self), Int32(dictionary.bytes.count))
            }
            initialized = read == Int32(length) ? length : 0
        }
        guard message.count == length else { throw damaged }
        return message
    }

    static let damaged = StoreDataError(message: "a damaged compressed raw message in the database")
}

/// The store's compression state, used only under the writer lock: the
/// dictionary new messages are compressed against (none until enough
/// messages were stored to make one), the dictionaries read so far, and
/// LZ4's scratch state.
// @unchecked: every use is inside `GatewayStore.locked`.
final class RawMessageCompression: @unchecked Sendable {
    /// Messages a dictionary is made from: the latest ones stored.
    static let samples = 64
    var current: RawMessageDictionary?
    private var known: [Int64: RawMessageDictionary] = [:]
    /// Messages stored as they came since the store was opened: a
    /// dictionary is made once there are `samples` of them.
    var storedPlain = 0
    let working: UnsafeMutablePointer<LZ4_stream_t>

    init() {
        working = .allocate(capacity: 1)
        working.initialize(to: LZ4_stream_t())
    }

    deinit {
        working.deinitialize(count: 1)
        working.deallocate()
    }

    func remember(_ dictionary: RawMessageDictionary) { known[dictionary.id] = dictionary }

    /// The dictionary with this id, read from the database the first time.
    func dictionary(_ id: Int64, on connection: SQLiteConnection) throws -> RawMessageDictionary {
        if let found = known[id] { return found }
        guard let bytes = try connection.query("SELECT bytes FROM raw_dictionaries WHERE id = ?", [.integer(id)]).first?[0].bytes,
              let dictionary = RawMessageDictionary(id: id, bytes: bytes) else {
            throw StoreDataError(message: "raw message dictionary \(id) is missing or damaged")
        }
        known[id] = dictionary
        return dictionary
    }

    /// The stored form of a message: the bytes to keep and the dictionary they need.
    func stored(_ message: [UInt8]) -> (bytes: [UInt8], dictionary: Int64?) {
        if let current, let block = RawMessageCodec.compress(message, with: current, working: working) {
            return (block, current.id)
        }
        storedPlain += 1
        return (message, nil)
    }

    /// A stored message as it came.
    func message(_ bytes: [UInt8], dictionary id: Int64?, on connection: SQLiteConnection) throws -> [UInt8] {
        guard let id else { return bytes }
        return try RawMessageCodec.decompress(bytes, with: try dictionary(id, on: connection))
    }
}

extension GatewayStore {
    /// Once `RawMessageCompression.samples` messages were stored as they
    /// came and there is no dictionary yet, makes one from the latest
    /// messages (newest last, up to 64 KiB) in a transaction of its own, and
    /// compresses against it from then on. Called after an ingest commit; a
    /// failure (a full disk) only postpones it. One dictionary serves a
    /// database: a fleet whose messages change shape later compresses less
    /// well, never wrongly.
    func makeRawDictionaryIfDue(now: EpochMillis) {
        try? locked {
            let compression = rawCompression
            guard compression.current == nil, compression.storedPlain >= RawMessageCompression.samples else { return }
            compression.storedPlain = 0
            let made: RawMessageDictionary? = try connection.transaction {
                let rows = try connection.query("SELECT message FROM uplink_messages WHERE dictionary IS NULL ORDER BY uplink_id DESC LIMIT ?",
                                                [.integer(Int64(RawMessageCompression.samples))])
                var newestFirst: [[UInt8]] = []
                var size = 0
                for row in rows {
                    guard let message = row[0].bytes, size + message.count <= RawMessageDictionary.maximumBytes else { break }
                    newestFirst.append(message)
                    size += message.count
                }
                guard size >= 1024 else { return nil }
                let bytes = Array(newestFirst.reversed().joined())
                try connection.run("INSERT INTO raw_dictionaries (created_ms, bytes) VALUES (?, ?)", [.integer(now), .blob(bytes)])
                return RawMessageDictionary(id: connection.lastInsertRowID, bytes: bytes)
            }
            // Only once committed: a message compressed against it must find it.
            if let made {
                compression.remember(made)
                compression.current = made
            }
        }
    }

    /// The newest dictionary, if any, as the store opens. One that cannot
    /// be used (damaged) does not stop the store: new messages are stored as
    /// they came until a new dictionary is made, and a block that needs the
    /// damaged one is an error when read.
    func loadRawDictionary() throws {
        guard let row = try connection.query("SELECT id, bytes FROM raw_dictionaries ORDER BY id DESC LIMIT 1").first,
              let id = row[0].int, let bytes = row[1].bytes, let dictionary = RawMessageDictionary(id: id, bytes: bytes) else { return }
        rawCompression.remember(dictionary)
        rawCompression.current = dictionary
    }
}
