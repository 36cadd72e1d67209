/// Reading back a blob column this store wrote (`WindowSeriesCodec`,
/// `RecentFramesCodec`): little-endian fields, each read bounds-checked, so
/// a damaged blob throws `damaged` instead of trapping.
struct BlobReader {
    let bytes: [UInt8]
    let damaged: StoreDataError
    private(set) var at = 0

    init(_ bytes: [UInt8], damaged: StoreDataError) {
        self.bytes = bytes
        self.damaged = damaged
    }

    var isAtEnd: Bool { at >= bytes.count }

    mutating func byte() throws -> UInt8 {
        guard at < bytes.count else { throw damaged }
        at += 1
        return bytes[at - 1]
    }

    mutating func word() throws -> UInt64 {
        guard at <= bytes.count - 8 else { throw damaged }
        var value: UInt64 = 0
        for shift in 0..<8 { value |= UInt64(bytes[at + shift]) << (8 * shift) }
        at += 8
        return value
    }

    mutating func bytes(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, at <= bytes.count - count else { throw damaged }
        at += count
        return bytes[(at - count)..<at]
    }
}
