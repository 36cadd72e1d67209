/// Bytes written into storage sized beforehand, for the encoders every batch
/// runs (a row's open windows, its recent frames, an uplink's readings text).
/// Through `Array.append` each piece paid a capacity and uniqueness check and
/// a generic copy: writing the decimal digits of an uplink's readings alone
/// was about 1 µs.
///
/// The caller computes a bound on what it writes; every write checks the
/// bound and traps when it is passed. That is a bug in the caller's
/// arithmetic, never a property of input: the bound is computed from the
/// same values that are then written.
struct ByteWriter {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private(set) var count = 0

    private init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        // A zero-capacity buffer may have no base address; nothing is written to it then.
        base = buffer.baseAddress ?? UnsafeMutablePointer(bitPattern: 1)!
        capacity = buffer.count
    }

    /// An array of at most `capacity` bytes, as `body` writes them.
    static func array(capacity: Int, _ body: (inout ByteWriter) -> Void) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
            var writer = ByteWriter(buffer)
            body(&writer)
            initialized = writer.count
        }
    }

    /// A string of at most `capacity` UTF-8 bytes, as `body` writes them.
    static func string(capacity: Int, _ body: (inout ByteWriter) -> Void) -> String {
        String(unsafeUninitializedCapacity: capacity) { buffer in
            var writer = ByteWriter(buffer)
            body(&writer)
            return writer.count
        }
    }

    @inline(__always)
    private mutating func reserve(_ bytes: Int) -> UnsafeMutablePointer<UInt8> {
        precondition(bytes <= capacity - count, "ByteWriter: the caller's bound was too small")
        defer { count += bytes }
        return base + count
    }

    mutating func byte(_ value: UInt8) { reserve(1).pointee = value }

    /// A 64-bit field, little-endian (read back by `BlobReader.word`).
    mutating func word(_ value: UInt64) {
        UnsafeMutableRawPointer(reserve(8)).storeBytes(of: value.littleEndian, as: UInt64.self)
    }

    mutating func bytes(_ source: UnsafeBufferPointer<UInt8>) {
        guard let start = source.baseAddress, !source.isEmpty else { return }
        reserve(source.count).update(from: start, count: source.count)
    }

    /// A string's UTF-8 bytes, at most `limit` of them.
    mutating func utf8(_ text: String, limit: Int = .max) {
        let copied = text.utf8.withContiguousStorageIfAvailable { bytes(UnsafeBufferPointer(rebasing: $0.prefix(limit))) }
        if copied == nil { for byte in text.utf8.prefix(limit) { self.byte(byte) } }
    }

    /// The decimal digits of `value`, with a minus sign when negative
    /// (Int64.min included: by its magnitude). At most `maximumDecimalCount` bytes.
    mutating func decimal(_ value: Int64) {
        var magnitude = value.magnitude
        var digits = 1
        var bound: UInt64 = 10
        while digits < 20, magnitude >= bound { digits += 1; bound &*= 10 }
        let sign = value < 0 ? 1 : 0
        let start = reserve(sign + digits)
        if sign == 1 { start.pointee = UInt8(ascii: "-") }
        var at = start + sign + digits
        repeat {
            at -= 1
            at.pointee = UInt8(truncatingIfNeeded: magnitude % 10) &+ UInt8(ascii: "0")
            magnitude /= 10
        } while magnitude > 0
    }

    /// The longest `decimal` writes: a sign and the 19 digits of Int64.min's magnitude.
    static let maximumDecimalCount = 20
}
