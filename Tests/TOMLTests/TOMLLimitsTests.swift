import Testing
@testable import TOML

/// A deeply nested or huge file is a syntax error with a line, not a crash:
/// `check-config` reports it and a SIGHUP with it is refused.
@Suite struct TOMLLimitsTests {
    func message(_ text: String) -> String? {
        do {
            _ = try TOMLParser.parse(text)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func nestingPastTheLimitIsAnErrorNotAStackOverflow() {
        // 200,000 levels overflowed the stack (the parser recurses per level).
        let deep = "a = " + String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000) + "\n"
        #expect(message(deep)?.contains("nested more than 32 deep") == true)
        let tables = "a = " + String(repeating: "{ b = ", count: 100_000) + "1" + String(repeating: " }", count: 100_000) + "\n"
        #expect(message(tables)?.contains("nested more than 32 deep") == true)
        let keys = String(repeating: "k.", count: 100_000) + "k = 1\n"
        #expect(message(keys)?.contains("more than 32 dotted parts") == true)
        let header = "[" + String(repeating: "k.", count: 100_000) + "k]\n"
        #expect(message(header)?.contains("more than 32 dotted parts") == true)
    }

    @Test func realNestingStaysFine() throws {
        let ok = "a = " + String(repeating: "[", count: 32) + "1" + String(repeating: "]", count: 32) + "\nb = { c = { d = [1, { e = 2 }] } }\n"
        #expect(message(ok) == nil)
        #expect(message("a = " + String(repeating: "[", count: 33) + String(repeating: "]", count: 33)) != nil)
    }

    @Test func aFileOverTheSizeLimitIsRefusedWhole() {
        let huge = "# " + String(repeating: "x", count: TOMLParser.maxBytes) + "\n"
        #expect(message(huge)?.contains("at most \(TOMLParser.maxBytes) are read") == true)
    }
}
