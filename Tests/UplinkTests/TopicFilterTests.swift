import Testing
import Uplink

/// MQTT topic filter matching (MQTT 3.1.1 §4.7), as routing and codec rules use it.
@Suite struct TopicFilterTests {
    private func matches(_ filter: String, _ topic: String) throws -> Bool {
        try #require(TopicFilter(filter)).matches(topic)
    }

    @Test func plusMatchesExactlyOneLevel() throws {
        #expect(try matches("application/+/device/+/event/up", "application/1/device/a840/event/up"))
        #expect(try matches("a/+/c", "a//c"))
        #expect(try !matches("a/+/c", "a/b/x/c"))
        #expect(try !matches("a/+", "a"))
        #expect(try !matches("application/+/device/+/event/up", "application/1/device/a840/event/join"))
    }

    @Test func hashMatchesTheParentAndEveryLevelBelow() throws {
        #expect(try matches("a/#", "a"))
        #expect(try matches("a/#", "a/b/c"))
        #expect(try matches("#", "anything/at/all"))
        #expect(try !matches("a/#", "b/a"))
    }

    @Test func exactLevelsCompareBytesAndLevelCounts() throws {
        #expect(try matches("v3/app/devices", "v3/app/devices"))
        #expect(try !matches("v3/app/devices", "v3/app/devices/"))
        #expect(try !matches("v3/app/devices", "v3/app"))
        #expect(try !matches("caf\u{e9}/x", "caf\u{65}\u{301}/x"))
        // A `/` followed by a combining mark is one Character but still a separator.
        #expect(try matches("a/\u{301}", "a/\u{301}"))
        #expect(try matches("a/+/\u{301}", "a/b/\u{301}"))
        #expect(try !matches("a/\u{301}", "a\u{301}"))
    }

    @Test func sharedSubscriptionPrefixIsStripped() throws {
        #expect(try matches("$share/citygate/application/+/device/+/event/up", "application/1/device/a/event/up"))
    }

    /// The byte walk agrees with the rules applied the slow way (levels split
    /// from the UTF-8, then compared one by one) on 20,000 random pairs,
    /// including empty levels, a combining mark after a `/`, and `+`/`#`.
    @Test func agreesWithTheRulesSpelledOutOnRandomTopics() throws {
        func reference(_ filter: String, _ topic: String) -> Bool {
            let levels = filter.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map { Array($0) }
            let parts = topic.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map { Array($0) }
            var index = 0
            for level in levels {
                if level == Array("#".utf8) { return true }
                guard index < parts.count else { return false }
                if level != Array("+".utf8) && level != parts[index] { return false }
                index += 1
            }
            return index == parts.count
        }
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next(_ bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(bound))
        }
        let pieces = ["a", "b", "ab", "", "caf\u{e9}", "\u{301}", "device"]
        var agreed = 0, matched = 0
        for _ in 0..<20_000 {
            let topic = (0..<(1 + next(4))).map { _ in pieces[next(pieces.count)] }.joined(separator: "/")
            var levels = (0..<(1 + next(4))).map { _ in ["+", pieces[next(pieces.count)]][next(2)] }
            if next(4) == 0 { levels.append("#") }
            let filter = levels.joined(separator: "/")
            guard let compiled = TopicFilter(filter) else { continue }
            let got = compiled.matches(topic)
            #expect(got == reference(filter, topic), "\(filter) on \(topic)")
            agreed += 1
            if got { matched += 1 }
        }
        // Enough pairs of each answer to mean something.
        #expect(agreed > 15_000 && matched > 1_000 && agreed - matched > 1_000, "\(agreed) pairs, \(matched) matches")
    }

    @Test func invalidFiltersAreRefused() {
        #expect(TopicFilter("a/#/b") == nil)
        #expect(TopicFilter("a/b+") == nil)
        #expect(TopicFilter("") == nil)
        #expect(TopicFilter("$share//a") == nil)
    }
}
