import Readings

/// MQTT topic filter matching (`+` one level, `#` the rest), used to route a
/// message to its envelope parser. `$share/{group}/` prefixes are stripped
/// first: the broker delivers shared-subscription messages on the plain topic.
public struct TopicFilter: Sendable, Hashable, CustomStringConvertible {
    public let filter: String
    private let levels: [Level]

    /// One level of the filter.
    private enum Level: Sendable, Hashable {
        /// This text, byte for byte (its UTF-8).
        case exact([UInt8])
        /// `+`: any one level.
        case any
        /// `#`: this level and every one after it (or none: `a/#` matches `a`).
        case rest
    }

    /// Parsed by bytes, as MQTT splits topics (§4.7): split by `Character`,
    /// a `/` followed by a combining mark was one character and no separator.
    public init?(_ filter: String) {
        let slash = UInt8(ascii: "/"), hash = UInt8(ascii: "#"), plus = UInt8(ascii: "+")
        var text = Array(filter.utf8)[...]
        if text.starts(with: "$share/".utf8) {
            let parts = text.split(separator: slash, maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[1].isEmpty else { return nil }
            text = parts[2]
        }
        guard !text.isEmpty else { return nil }
        let levels = text.split(separator: slash, omittingEmptySubsequences: false)
        for (index, level) in levels.enumerated() {
            if level.contains(hash) && (level.count != 1 || index != levels.count - 1) { return nil }
            if level.contains(plus) && level.count != 1 { return nil }
        }
        self.filter = filter
        self.levels = levels.map { $0.first == hash ? .rest : $0.first == plus ? .any : .exact(Array($0)) }
    }

    public var description: String { filter }

    /// Runs for every uplink (routing, codec rules): one walk over the
    /// topic's UTF-8 bytes, comparing each level where it lies, with no
    /// `Substring` or array made (`TopicLevelRanges`; the levels as
    /// substrings were about 0.3 µs of an uplink, Benchmarks/RESULTS.md).
    public func matches(_ topic: String) -> Bool {
        var topic = topic
        return topic.withUTF8 { matches(bytes: $0) }
    }

    private func matches(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var parts = TopicLevelRanges(bytes)
        for level in levels {
            switch level {
            case .rest:
                return true
            case .any:
                guard parts.next() != nil else { return false }
            case let .exact(text):
                guard let part = parts.next(), parts.level(part, is: text) else { return false }
            }
        }
        return parts.next() == nil
    }
}
