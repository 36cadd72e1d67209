import Readings
import Testing

/// Topics split at the `/` byte, as a broker splits them.
@Suite struct TopicLevelsTests {
    @Test func levelsAreSplitAtEverySlashKeepingEmptyOnes() {
        #expect(Array(TopicLevels("a/b/c")) == ["a", "b", "c"])
        #expect(Array(TopicLevels("/a//b/")) == ["", "a", "", "b", ""])
        #expect(Array(TopicLevels("")) == [""])
        #expect(Array(TopicLevels("single")) == ["single"])
    }

    @Test func aCombiningMarkAfterASlashDoesNotHideTheSlash() {
        // As Characters, "/\u{301}" is one grapheme and a Character split
        // would not split there; MQTT splits at the byte.
        #expect(Array(TopicLevels("a/\u{301}b")) == ["a", "\u{301}b"])
    }

    @Test func restIsWhatFollowsTheLastLevelTaken() {
        var levels = TopicLevels("v3/app/devices/d1/service/data")
        #expect(levels.next() == "v3")
        #expect(levels.rest == "app/devices/d1/service/data")
        while levels.next() != nil {}
        #expect(levels.rest == nil)
    }

    @Test func levelComparisonIsByteForByte() {
        #expect(TopicLevels.level("device", is: "device"))
        #expect(!TopicLevels.level("devic", is: "device"))
        // "é" precomposed and decomposed are equal as Swift Strings, not as topic bytes.
        let decomposed: Substring = "caf\u{65}\u{301}"
        #expect(decomposed == "caf\u{e9}")
        #expect(!TopicLevels.level(decomposed, is: "caf\u{e9}"))
    }
}
