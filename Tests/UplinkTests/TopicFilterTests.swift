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
    }

    @Test func sharedSubscriptionPrefixIsStripped() throws {
        #expect(try matches("$share/citygate/application/+/device/+/event/up", "application/1/device/a/event/up"))
    }

    @Test func invalidFiltersAreRefused() {
        #expect(TopicFilter("a/#/b") == nil)
        #expect(TopicFilter("a/b+") == nil)
        #expect(TopicFilter("") == nil)
        #expect(TopicFilter("$share//a") == nil)
    }
}
