import Foundation
import Readings
import Testing

@Suite struct FixedPointTests {
    @Test func scalesExactlyAndRoundsHalfAwayFromZero() {
        #expect(FixedPoint.scale(226, by: 10, over: 1) == 2260)      // Elsys 22.6 °C → 0.01 °C
        #expect(FixedPoint.scale(101, by: 1, over: 10) == 10)        // 10.1 → 10
        #expect(FixedPoint.scale(105, by: 1, over: 10) == 11)        // 10.5 → 11
        #expect(FixedPoint.scale(-105, by: 1, over: 10) == -11)      // −10.5 → −11
        #expect(FixedPoint.scale(-104, by: 1, over: 10) == -10)
        #expect(FixedPoint.divideRounded(Int64(7), by: Int64(-2)) == -4)
        #expect(FixedPoint.divideRounded(Int128(5), by: Int128(2)) == 3)
    }

    @Test func reportsOverflowInsteadOfTrapping() {
        #expect(FixedPoint.scale(Int64.max, by: 10, over: 1) == nil)
        #expect(FixedPoint.scale(Int64.min, by: -1, over: 1) == nil)
        #expect(FixedPoint.divideRounded(Int64.min, by: -1) == nil)
        #expect(FixedPoint.divideRounded(Int64(1), by: Int64(0)) == nil)
    }

    @Test func formatsExactDecimals() {
        #expect(FixedPoint.decimalString(2135, decimals: 2) == "21.35")
        #expect(FixedPoint.decimalString(-5, decimals: 2) == "-0.05")
        #expect(FixedPoint.decimalString(776, decimals: 0) == "776")
        #expect(FixedPoint.decimalString(100_470, decimals: 2) == "1004.70")
        #expect(FixedPoint.decimalString(Int64.min, decimals: 2) == "-92233720368547758.08")
    }

    @Test func parsesDecimalsStrictly() {
        #expect(FixedPoint.parseDecimal("21.35", decimals: 2) == 2135)
        #expect(FixedPoint.parseDecimal("-3.7074", decimals: 7) == -37_074_000)
        #expect(FixedPoint.parseDecimal("40", decimals: 2) == 4000)
        #expect(FixedPoint.parseDecimal("1.234", decimals: 2) == nil)
        #expect(FixedPoint.parseDecimal("1e3", decimals: 2) == nil)
        #expect(FixedPoint.parseDecimal("", decimals: 2) == nil)
        #expect(FixedPoint.parseDecimal("99999999999999999999", decimals: 0) == nil)
    }

    @Test func rfc3339RoundTrips() {
        #expect(RFC3339.parseMillis("2022-07-18T09:34:15.775023242+00:00") == 1_658_136_855_775)
        #expect(RFC3339.parseMillis("2020-09-25T13:46:52.433197574Z") == 1_601_041_612_433)
        #expect(RFC3339.parseMillis("2026-11-20T10:15:00+01:00") == RFC3339.parseMillis("2026-11-20T09:15:00Z"))
        #expect(RFC3339.format(1_658_136_855_775) == "2022-07-18T09:34:15.775Z")
        #expect(RFC3339.format(0) == "1970-01-01T00:00:00Z")
        #expect(RFC3339.parseMillis("2022-13-18T09:34:15Z") == nil)
        #expect(RFC3339.parseMillis("yesterday") == nil)
        #expect(RFC3339.parseMillis("2022-07-18T09:34:15") == nil)
    }

    @Test func jsonKeepsExactNumbers() {
        let body = JSONText.object([("mean", .decimal(2135, decimals: 2)), ("name", .string("a\"b\n"))])
        #expect(body.serialized() == #"{"mean":21.35,"name":"a\"b\n"}"#)
    }

    @Test func jsonStringsEscapeWhatJSONRequiresAndKeepTheRest() throws {
        #expect(JSONText.string("tab\there\u{01}\\").serialized() == #""tab\there\u0001\\""#)
        #expect(JSONText.string("Kärntner Straße 🚲").serialized() == "\"Kärntner Straße 🚲\"")
        // A quote followed by a combining mark is one grapheme; the quote must still be escaped.
        #expect(JSONText.string("a\"\u{301}b").serialized() == "\"a\\\"\u{301}b\"")
        #expect(JSONText.string("").serialized() == #""""#)
        // Every string comes back from a real JSON parser as it went in.
        let samples = ["plain", "\"", "\\", "end\\", "\"\u{301}", "\u{1F}x\u{7F}", "line\r\nbreak", "ünïcödé\"\n🚲\t", "\u{0}"]
        for sample in samples {
            let json = "[" + JSONText.string(sample).serialized() + "]"
            let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String]
            #expect(parsed == [sample], "\(json)")
        }
    }
}

@Suite struct DurationTextTests {
    @Test func parsesTheUnitsOperatorsWrite() {
        #expect(DurationText.parseMillis("500ms") == 500)
        #expect(DurationText.parseMillis("10s") == 10_000)
        #expect(DurationText.parseMillis(" 15m ") == 900_000)
        #expect(DurationText.parseMillis("1h") == 3_600_000)
        #expect(DurationText.parseMillis("7d") == 604_800_000)
        #expect(DurationText.parseMillis("30") == 30_000)
    }

    @Test(arguments: ["", "m", "5 minutes", "-5s", "1.5h", "99999999999999999d", "9223372036854775807", "10x"])
    func refusesWhatIsNotADuration(text: String) {
        #expect(DurationText.parseMillis(text) == nil)
    }
}
