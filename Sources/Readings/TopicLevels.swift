/// The levels of an MQTT topic, split at each `/` byte.
///
/// MQTT splits and matches topics byte for byte (MQTT 3.1.1 §4.7: the level
/// separator is U+002F, and topic names are compared as UTF-8 without
/// normalisation), so this walks the UTF-8 view. Splitting by `Character`
/// instead walked grapheme clusters and allocated an array per topic: in
/// the load test it was about a tenth of the gateway's CPU per uplink
/// (Benchmarks/RESULTS.md, issue 17).
public struct TopicLevels: Sequence, IteratorProtocol {
    private let topic: Substring
    private var start: String.Index?

    public init(_ topic: some StringProtocol) {
        self.topic = Substring(topic)
        start = self.topic.startIndex
    }

    /// The next level (empty between two `/`, or after a trailing one).
    public mutating func next() -> Substring? {
        guard let from = start else { return nil }
        let utf8 = topic.utf8
        guard let slash = utf8[from...].firstIndex(of: UInt8(ascii: "/")) else {
            start = nil
            return topic[from...]
        }
        start = utf8.index(after: slash)
        return topic[from..<slash]
    }

    /// What follows the last level returned, not split (nil after the last level).
    public var rest: Substring? { start.map { topic[$0...] } }

    /// Whether a level is `text`, byte for byte.
    @inlinable
    public static func level(_ level: Substring, is text: StaticString) -> Bool {
        text.withUTF8Buffer { level.utf8.elementsEqual($0) }
    }
}

/// The levels of a topic as byte ranges of its UTF-8, split at each `/`
/// byte as `TopicLevels` splits them, for the per-uplink matchers (topic
/// filters, envelope topics) that compare levels where they lie in the
/// buffer instead of making a `Substring` of each. Inlinable: it runs a few
/// times per uplink, across modules.
public struct TopicLevelRanges: Sequence, IteratorProtocol {
    @usableFromInline let bytes: UnsafeBufferPointer<UInt8>
    /// Where the next level starts; nil after the last.
    @usableFromInline var start: Int?

    @inlinable public init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        start = 0
    }

    /// The next level's range (empty between two `/`, or after a trailing one).
    @inlinable public mutating func next() -> Range<Int>? {
        guard let from = start else { return nil }
        var end = from
        while end < bytes.count && bytes[end] != UInt8(ascii: "/") { end += 1 }
        start = end < bytes.count ? end + 1 : nil
        return from..<end
    }

    /// Whether the level at `range` is `text`, byte for byte.
    @inlinable public func level(_ range: Range<Int>, is text: some Collection<UInt8>) -> Bool {
        range.count == text.count && UnsafeBufferPointer(rebasing: bytes[range]).elementsEqual(text)
    }
}
