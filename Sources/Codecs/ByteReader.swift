/// A bounds-checked cursor over an untrusted payload. Every read either
/// returns a value or throws `.truncated` with the offset it wanted, so a
/// short frame is a clear quarantine reason and never an out-of-range trap.
public struct ByteReader {
    public let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset >= bytes.count }

    mutating func take(_ count: Int, for field: @autoclosure () -> String) throws(DecodeError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else {
            throw .truncated(field: field(), offset: offset, needed: count, available: max(remaining, 0))
        }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    public mutating func u8(_ field: @autoclosure () -> String) throws(DecodeError) -> UInt8 {
        try take(1, for: field()).first!
    }

    public mutating func s8(_ field: @autoclosure () -> String) throws(DecodeError) -> Int8 {
        Int8(bitPattern: try u8(field()))
    }

    public mutating func u16be(_ field: @autoclosure () -> String) throws(DecodeError) -> UInt16 {
        let s = try take(2, for: field())
        return UInt16(s[s.startIndex]) << 8 | UInt16(s[s.startIndex + 1])
    }

    public mutating func u16le(_ field: @autoclosure () -> String) throws(DecodeError) -> UInt16 {
        let s = try take(2, for: field())
        return UInt16(s[s.startIndex + 1]) << 8 | UInt16(s[s.startIndex])
    }

    public mutating func s16be(_ field: @autoclosure () -> String) throws(DecodeError) -> Int16 { Int16(bitPattern: try u16be(field())) }
    public mutating func s16le(_ field: @autoclosure () -> String) throws(DecodeError) -> Int16 { Int16(bitPattern: try u16le(field())) }

    public mutating func u24be(_ field: @autoclosure () -> String) throws(DecodeError) -> UInt32 {
        let s = try take(3, for: field())
        return UInt32(s[s.startIndex]) << 16 | UInt32(s[s.startIndex + 1]) << 8 | UInt32(s[s.startIndex + 2])
    }

    /// Signed 24-bit, sign-extended explicitly (JavaScript decoders get this
    /// right only by accident of 32-bit shifts).
    public mutating func s24be(_ field: @autoclosure () -> String) throws(DecodeError) -> Int32 {
        let raw = try u24be(field())
        return Int32(bitPattern: raw << 8) >> 8
    }

    public mutating func u32be(_ field: @autoclosure () -> String) throws(DecodeError) -> UInt32 {
        let s = try take(4, for: field())
        var v: UInt32 = 0
        for b in s { v = v << 8 | UInt32(b) }
        return v
    }

    public mutating func u32le(_ field: @autoclosure () -> String) throws(DecodeError) -> UInt32 {
        let s = try take(4, for: field())
        var v: UInt32 = 0
        for b in s.reversed() { v = v << 8 | UInt32(b) }
        return v
    }

    public mutating func s32be(_ field: @autoclosure () -> String) throws(DecodeError) -> Int32 { Int32(bitPattern: try u32be(field())) }

    public mutating func skip(_ count: Int, _ field: @autoclosure () -> String) throws(DecodeError) {
        _ = try take(count, for: field())
    }
}
