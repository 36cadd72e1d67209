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
    public var category: QuarantineReason {
        switch self {
        case .truncated: return .truncated
        case .unsupportedPort: return .unsupportedPort
        case .invalid: return .invalidPayload
        case .overflow: return .overflow
        case .unknownCodec: return .unknownCodec
        case .noPayload: return .emptyPayload
        }
    }
}

/// Something a codec saw but did not turn into a reading: a field with no
/// canonical metric, a sentinel, a status, an unknown tag that ended the
/// stream. Notes are never silent drops: the gateway counts and logs them.
///
/// The common kind is a static label and a raw value, formatted only when
/// someone reads it, so noting costs no allocation on the decode path.
public struct DecodeNote: Sendable, CustomStringConvertible {
    public let label: StaticString
    public let value: Int64?
    public let second: Int64?
    /// Computed text for the rare notes a label and numbers cannot say.
    public let detail: String?

    public init(_ label: StaticString, _ value: Int64? = nil, _ second: Int64? = nil) {
        self.label = label
        self.value = value
        self.second = second
        detail = nil
    }

    public init(detail: String) {
        label = ""
        value = nil
        second = nil
        self.detail = detail
    }

    /// Each "{}" in the label takes the next value; a value left over follows the label.
    public var description: String {
        if let detail { return detail }
        var text = ""
        var pending = [value, second].compactMap { $0 }[...]
        var previous: Character?
        for character in label.description {
            if previous == "{" && character == "}" && !pending.isEmpty {
                text.removeLast()
                text += String(pending.removeFirst())
            } else {
                text.append(character)
            }
            previous = character
        }
        for value in pending { text += " \(value)" }
        return text
    }
}

extension DecodeNote: Equatable {
    public static func == (a: DecodeNote, b: DecodeNote) -> Bool { a.description == b.description }
}

/// What a codec made of one payload: the values it decoded, notes on what it
/// did not turn into readings, and how many sentinels it met.
///
/// Decoding into a caller-owned result that is reused (`removeAll()` keeps
/// its capacity) allocates nothing for a payload without computed notes.
public struct DecodeResult: Sendable, Equatable {
    public var values: [DecodedValue]
    public var notes: [DecodeNote]
    /// Sentinel values that yielded no reading ("no probe", "collection error").
    public var sentinels: Int

    public init(values: [DecodedValue] = [], notes: [DecodeNote] = [], sentinels: Int = 0) {
        self.values = values
        self.notes = notes
        self.sentinels = sentinels
    }

    /// An empty result with room for a typical frame.
    public static func withCapacity(_ values: Int, notes: Int = 4) -> DecodeResult {
        var result = DecodeResult()
        result.values.reserveCapacity(values)
        result.notes.reserveCapacity(notes)
        return result
    }

    /// Empties the result for the next payload, keeping its storage.
    public mutating func removeAll() {
        values.removeAll(keepingCapacity: true)
        notes.removeAll(keepingCapacity: true)
        sentinels = 0
    }

    /// The notes as text (for logs, the CLI and tests).
    public var noteTexts: [String] { notes.map(\.description) }

    mutating func add(_ metric: Metric, _ value: Int64, channel: Int? = nil, time: EpochMillis? = nil) {
        values.append(DecodedValue(metric: metric, channel: channel, value: value, time: time))
    }

    /// Adds `raw × numerator / denominator` in canonical units, or throws overflow.
    mutating func add(_ metric: Metric, raw: Int64, times numerator: Int64, over denominator: Int64 = 1, channel: Int? = nil,
                      field: @autoclosure () -> String) throws(DecodeError) {
        guard let value = FixedPoint.scale(raw, by: numerator, over: denominator) else { throw .overflow(field: field()) }
        add(metric, value, channel: channel)
    }

    mutating func note(_ label: StaticString, _ value: Int64? = nil, _ second: Int64? = nil) {
        notes.append(DecodeNote(label, value, second))
    }

    mutating func note(detail: String) {
        notes.append(DecodeNote(detail: detail))
    }

    mutating func sentinel(_ label: StaticString, _ value: Int64? = nil, _ second: Int64? = nil) {
        sentinels += 1
        notes.append(DecodeNote(label, value, second))
    }
}

/// A device codec: bytes (and the LoRaWAN fPort) in, canonical values out.
/// Pure: no I/O, no clock, no shared state.
public protocol PayloadCodec: Sendable {
    /// The codec id used by `decode --codec` and the device registry.
    var id: String { get }
    /// Appends what the payload holds to `result`. On a throw, what was
    /// appended before the error is unspecified: reset before reuse.
    func decode(_ payload: [UInt8], fPort: Int?, into result: inout DecodeResult) throws(DecodeError)
}

extension PayloadCodec {
    /// Decodes into a fresh result.
    public func decode(_ payload: [UInt8], fPort: Int?) throws(DecodeError) -> DecodeResult {
        var result = DecodeResult.withCapacity(8, notes: 0)
        try decode(payload, fPort: fPort, into: &result)
        return result
    }
}
