/// MQTT topic filter matching (`+` one level, `#` the rest), used to route a
/// message to its envelope parser. `$share/{group}/` prefixes are stripped
/// first: the broker delivers shared-subscription messages on the plain topic.
public struct TopicFilter: Sendable, Hashable, CustomStringConvertible {
    public let filter: String
    private let levels: [Substring]

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
        self.levels = levels
    }

    public var description: String { filter }

    public func matches(_ topic: String) -> Bool {
        let parts = topic.split(separator: "/", omittingEmptySubsequences: false)
        var index = 0
        for level in levels {
            if level == "#" { return true }
            guard index < parts.count else { return false }
            if level != "+" && level != parts[index] { return false }
            index += 1
        }
        return index == parts.count
    }
}
