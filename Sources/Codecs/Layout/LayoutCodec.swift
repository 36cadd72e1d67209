import Readings

/// A device codec defined by data, not code: a layout file under
/// `Config/codecs/` is compiled once at start into this plan. Two shapes
/// cover most vendor formats:
///
/// - `fixed`: fields at fixed offsets (`[[field]] offset, type, ...`);
/// - `tag_stream`: `[tag][value]` where the tag fixes the width and meaning
///   (`[[tag]] tag, type, ...`), after an optional fixed header.
///
/// Each value is an integer of a given width, sign and byte order, optionally
/// masked, checked against sentinels, then scaled exactly
/// (`raw × multiply / divide`, rounded half away from zero) into a metric's
/// canonical counts, or only noted when it maps to no metric.
public struct LayoutCodec: PayloadCodec {
    public enum IntegerType: String, Sendable, CaseIterable {
        case u8, s8, u16, s16, u24, s24, u32, s32

        public var width: Int {
            switch self {
            case .u8, .s8: return 1
            case .u16, .s16: return 2
            case .u24, .s24: return 3
            case .u32, .s32: return 4
            }
        }

        var isSigned: Bool { rawValue.hasPrefix("s") }
    }

    public enum ByteOrder: String, Sendable { case big, little }

    /// One value in the payload and what it means.
    public struct ValueSpec: Sendable, Equatable {
        public var name: String
        public var type: IntegerType
        public var byteOrder: ByteOrder
        public var mask: UInt32?
        public var sentinels: [Int64]
        public var metric: Metric?
        public var channel: Int?
        public var multiply: Int64
        public var divide: Int64

        public init(name: String, type: IntegerType, byteOrder: ByteOrder, mask: UInt32? = nil, sentinels: [Int64] = [],
                    metric: Metric? = nil, channel: Int? = nil, multiply: Int64 = 1, divide: Int64 = 1) {
            self.name = name
            self.type = type
            self.byteOrder = byteOrder
            self.mask = mask
            self.sentinels = sentinels
            self.metric = metric
            self.channel = channel
            self.multiply = multiply
            self.divide = divide
        }
    }

    public enum Shape: Sendable, Equatable {
        case fixed(fields: [(offset: Int, value: ValueSpec)], length: ClosedRange<Int>)
        case tagStream(headerBytes: Int, tags: [UInt8: ValueSpec])

        public static func == (a: Shape, b: Shape) -> Bool {
            switch (a, b) {
            case let (.fixed(f1, l1), .fixed(f2, l2)):
                return l1 == l2 && f1.count == f2.count && zip(f1, f2).allSatisfy { $0.offset == $1.offset && $0.value == $1.value }
            case let (.tagStream(h1, t1), .tagStream(h2, t2)):
                return h1 == h2 && t1 == t2
            default:
                return false
            }
        }
    }

    public let id: String
    public let shape: Shape
    /// Accepted fPorts; nil accepts any.
    public let fPorts: Set<Int>?

    public init(id: String, shape: Shape, fPorts: Set<Int>?) {
        self.id = id
        self.shape = shape
        self.fPorts = fPorts
    }

    public func decode(_ payload: [UInt8], fPort: Int?, into result: inout DecodeResult) throws(DecodeError) {
        if let fPorts, !fPorts.contains(fPort ?? -1) { throw .unsupportedPort(codec: id, fPort: fPort) }
        guard !payload.isEmpty else { throw .noPayload }
        switch shape {
        case let .fixed(fields, length):
            guard length.contains(payload.count) else {
                throw .invalid("\(id): frame is \(payload.count) bytes, expected \(length.lowerBound == length.upperBound ? "\(length.lowerBound)" : "\(length.lowerBound)...\(length.upperBound)")")
            }
            for (offset, spec) in fields {
                var reader = ByteReader(payload, offset: offset)
                try add(try read(&reader, spec), spec, to: &result)
            }
        case let .tagStream(headerBytes, tags):
            var reader = ByteReader(payload)
            try reader.skip(headerBytes, "header")
            while !reader.isAtEnd {
                let start = reader.offset
                let tag = try reader.u8("tag")
                guard let spec = tags[tag] else {
                    try stopAtUnknown(&result, "\(id): unknown tag 0x\(hex(tag)) at byte \(start)", remaining: payload.count - start)
                    return
                }
                try add(try read(&reader, spec), spec, to: &result)
            }
        }
    }

    func read(_ reader: inout ByteReader, _ spec: ValueSpec) throws(DecodeError) -> Int64 {
        var raw: UInt32 = 0
        let width = spec.type.width
        for index in 0..<width {
            let byte = UInt32(try reader.u8(spec.name))
            raw |= spec.byteOrder == .big ? byte << (8 * UInt32(width - 1 - index)) : byte << (8 * UInt32(index))
        }
        if let mask = spec.mask { raw &= mask }
        if spec.type.isSigned && spec.mask == nil {
            let shift = UInt32(32 - 8 * width)
            return Int64(Int32(bitPattern: raw << shift) >> shift)
        }
        return Int64(raw)
    }

    func add(_ raw: Int64, _ spec: ValueSpec, to result: inout DecodeResult) throws(DecodeError) {
        // Layout values carry names from the file: their notes are computed text.
        if spec.sentinels.contains(raw) {
            result.sentinels += 1
            result.note(detail: "\(spec.name): sentinel \(raw), no reading")
            return
        }
        guard let metric = spec.metric else {
            result.note(detail: "\(spec.name) \(raw)")
            return
        }
        try result.add(metric, raw: raw, times: spec.multiply, over: spec.divide, channel: spec.channel, field: spec.name)
    }
}
