import Readings

/// Why a payload could not be decoded. The text of `reason` is what lands in
/// the quarantine row and the log line, so it says what was expected, what
/// came, and where.
public enum DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    case truncated(field: String, offset: Int, needed: Int, available: Int)
    case unsupportedPort(codec: String, fPort: Int?)
    case invalid(String)
    case overflow(field: String)
    case unknownCodec(String)
    case noPayload

    public var description: String {
        switch self {
        case let .truncated(field, offset, needed, available):
            return "truncated: \(field) at byte \(offset) needs \(needed) byte(s), \(available) left"
        case let .unsupportedPort(codec, fPort):
            return "fPort \(fPort.map(String.init) ?? "none") carries no layout \(codec) knows"
        case let .invalid(text):
            return text
        case let .overflow(field):
            return "overflow: \(field) does not fit the canonical scale"
        case let .unknownCodec(id):
            return "unknown codec '\(id)'"
        case .noPayload:
            return "empty payload"
        }
    }

    /// A short stable label for metrics (`citygate_uplinks_quarantined_total{reason=...}`).
    public var category: String {
        switch self {
        case .truncated: return "truncated"
        case .unsupportedPort: return "unsupported_port"
        case .invalid: return "invalid_payload"
        case .overflow: return "overflow"
        case .unknownCodec: return "unknown_codec"
        case .noPayload: return "empty_payload"
        }
    }
}

/// What a codec made of one payload: the values it decoded, and notes on
/// what it saw but did not turn into readings (a sentinel, an unknown tag
/// that ended the stream, a status field). Notes are never silent drops: the
/// gateway counts and logs them.
public struct DecodeResult: Sendable, Equatable {
    public var values: [DecodedValue]
    public var notes: [String]
    /// Sentinel values that yielded no reading ("no probe", "collection error").
    public var sentinels: Int

    public init(values: [DecodedValue] = [], notes: [String] = [], sentinels: Int = 0) {
        self.values = values
        self.notes = notes
        self.sentinels = sentinels
    }

    mutating func add(_ metric: Metric, _ value: Int64, channel: Int? = nil, time: EpochMillis? = nil) {
        values.append(DecodedValue(metric: metric, channel: channel, value: value, time: time))
    }

    /// Adds `raw × numerator / denominator` in canonical units, or throws overflow.
    mutating func add(_ metric: Metric, raw: Int64, times numerator: Int64, over denominator: Int64 = 1, channel: Int? = nil, field: String) throws(DecodeError) {
        guard let value = FixedPoint.scale(raw, by: numerator, over: denominator) else { throw .overflow(field: field) }
        add(metric, value, channel: channel)
    }

    mutating func sentinel(_ note: String) {
        sentinels += 1
        notes.append(note)
    }
}

/// A device codec: bytes (and the LoRaWAN fPort) in, canonical values out.
/// Pure: no I/O, no clock, no shared state.
public protocol PayloadCodec: Sendable {
    /// The codec id used by `decode --codec` and the device registry.
    var id: String { get }
    func decode(_ payload: [UInt8], fPort: Int?) throws(DecodeError) -> DecodeResult
}
