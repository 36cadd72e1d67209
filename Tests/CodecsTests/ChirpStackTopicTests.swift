@testable import Codecs
import Testing

/// The device and event a ChirpStack topic names, read from its bytes
/// (`ChirpStackEnvelope.topicParts`): the level after `device` and the one
/// after `event`, the last of each.
@Suite struct ChirpStackTopicTests {
    @Test func theDefaultTemplateNamesDeviceAndEvent() {
        #expect(ChirpStackEnvelope.topicParts("application/a1/device/0101010101010101/event/up") == ("0101010101010101", "up"))
        #expect(ChirpStackEnvelope.topicParts("application/a1/device/0101010101010101/event/status") == ("0101010101010101", "status"))
    }

    @Test func missingEmptyAndRepeatedLevels() {
        // No level after `device`, or no `device` at all: no device; no `event`: "up".
        #expect(ChirpStackEnvelope.topicParts("application/a1/device") == (nil, "up"))
        #expect(ChirpStackEnvelope.topicParts("") == (nil, "up"))
        #expect(ChirpStackEnvelope.topicParts("/") == (nil, "up"))
        // Empty levels are levels.
        #expect(ChirpStackEnvelope.topicParts("a/device//event/") == ("", ""))
        // The last of each wins, as it did when the levels were substrings.
        #expect(ChirpStackEnvelope.topicParts("device/x/event/join/device/y") == ("y", "join"))
        // `device` must be the whole level, byte for byte.
        #expect(ChirpStackEnvelope.topicParts("a/devices/x/Device/y") == (nil, "up"))
        #expect(ChirpStackEnvelope.topicParts("a/device/caf\u{e9}\u{301}/event/up") == ("caf\u{e9}\u{301}", "up"))
    }
}
