@testable import Hubs
import Testing

/// Hub answers are read with JSONDecoder into JSONAnswer (no JSONSerialization
/// in the daemon); ids must come back with the type and digits they had.
@Suite struct JSONAnswerTests {
    @Test func readsABatchOperationResult() throws {
        let body = #"{"success":["urn:a"],"errors":[{"entityId":"urn:b","error":{"type":"https://uri.etsi.org/ngsi-ld/errors/BadRequestData","status":400,"title":"no"}}]}"#
        let answer = try #require(JSONAnswer.parse(Array(body.utf8)))
        #expect(answer["success"]?.array?.compactMap(\.string) == ["urn:a"])
        let error = answer["errors"]?.array?.first?["error"]
        #expect(error?["status"]?.integer == 400)
        #expect(error?["title"]?.string == "no")
        #expect(answer["missing"] == nil)
        #expect(answer["success"]?["x"] == nil)
    }

    @Test func keepsIntegersExactAndNumbersApart() throws {
        let answer = try #require(JSONAnswer.parse(Array(#"[9007199254740993, 42, 4.5, 3600.0, true, null, "42", -7]"#.utf8)))
        let items = try #require(answer.array)
        #expect(items[0] == .integer(9_007_199_254_740_993))
        #expect(SensorThingsID.literal(fromJSON: items[1]) == "42")
        #expect(SensorThingsID.literal(fromJSON: items[6]) == "'42'")
        #expect(SensorThingsID.literal(fromJSON: items[2]) == nil)
        #expect(items[2].double == 4.5 && items[2].integer == nil)
        #expect(items[3].integer == 3600)
        #expect(items[4] == .bool(true) && items[4].integer == nil)
        #expect(items[5] == .null)
        #expect(items[7].integer == -7)
    }

    @Test func refusesWhatIsNotJSON() {
        // (JSONDecoder takes a trailing comma, "[1,]"; no hub answer turns on that.)
        for body in ["", "{", "<html>502 Bad Gateway</html>", "{\"a\":}", "[1 2]", "{\"a\" 1}"] {
            #expect(JSONAnswer.parse(Array(body.utf8)) == nil, "\(body)")
        }
        // Deep nesting is refused, not a stack overflow.
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(JSONAnswer.parse(Array(deep.utf8)) == nil)
    }
}
