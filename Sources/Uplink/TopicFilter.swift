import Readings

/// MQTT topic filter matching (`+` one level, `#` the rest), used to route a
/// message to its envelope parser. `$share/{group}/` prefixes are stripped
/// first: the broker delivers shared-subscription messages on the plain topic.
public struct TopicFilter: Sendable, Hashable, CustomStringConvertible {
    public let filter: String
    private let levels: [Level]

    /// One level of the filter.
    private enum Level: Sendable, Hashable {
        /// This text, byte for byte.
        case exact(String)
        /// `+`: any one level.
        case any
        /// `#`: this level and every one after it (or none: `a/#` matches `a`).
        case rest
    }

    public init?(_ filter: String) {
        var text = Substring(filter)
        if text.hasPrefix("$share/") {
            let parts = text.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[1].isEmpty else { return nil }
            text = parts[2]
        }
        let levels = text.split(separator: "/", omittingEmptySubsequences: false)
        guard !text.isEmpty else { return nil }
        for (index, level) in levels.enumerated() {
            if level.contains("#") && (level != "#" || index != levels.count - 1) { return nil }
            if level.contains("+") && level != "+" { return nil }
        }
        self.filter = filter
        self.levels = levels.map { $0 == "#" ? .rest : $0 == "+" ? .any : .exact(String($0)) }
    }

    public var description: String { filter }

    /// Runs for every uplink (routing, codec rules): byte comparisons over
    /// the topic's UTF-8, no array of levels (see `TopicLevels`).
    public func matches(_ topic: String) -> Bool {
        var parts = TopicLevels(topic)
        for level in levels {
            switch level {
            case .rest:
                return true
            case .any:
                guard parts.next() != nil else { return false }
            case let .exact(text):
                guard let part = parts.next(), part.utf8.elementsEqual(text.utf8) else { return false }
            }
        }
        return parts.next() == nil
    }
}
