import Foundation
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

/// A registry of 100,000 `[[device]]` tables parsed in about 2 s, not
/// 12 minutes (issue 17): each key used to copy the whole array of tables.
@Suite struct TOMLScaleTests {
    static func registry(_ devices: Int) -> String {
        (0..<devices).map { "[[device]]\nid = \"d\($0)\"\ncodec = \"elsys\"\nkind = \"generic\"\nzone = \"z\($0 % 50)\"\n" }.joined(separator: "\n")
    }

    @Test func parsingTwiceTheTablesTakesAboutTwiceTheTime() throws {
        let (small, large) = (Self.registry(3_000), Self.registry(6_000))
        // The parsing thread's CPU time, the fastest of three interleaved
        // rounds: wall time under the parallel suite once gave 3.8×.
        func cpuTime() -> Duration {
            var now = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
            return .seconds(Int64(now.tv_sec)) + .nanoseconds(Int64(now.tv_nsec))
        }
        func time(_ text: String) throws -> Duration {
            let start = cpuTime()
            let table = try TOMLParser.parse(text)
            #expect(table["device"] != nil)
            return cpuTime() - start
        }
        _ = try time(small)  // warm
        var smallTimes: [Duration] = [], largeTimes: [Duration] = []
        for _ in 0..<3 {
            smallTimes.append(try time(small))
            largeTimes.append(try time(large))
        }
        let ratio = largeTimes.min()! / smallTimes.min()!
        // Linear gives about 2; copying the array per key gave about 4.
        #expect(ratio < 3, "6,000 tables took \(ratio) times as long as 3,000")
        guard case let .array(devices)? = try TOMLParser.parse(large)["device"] else { Issue.record("no devices"); return }
        #expect(devices.count == 6_000)
        guard case let .table(last)? = devices.last else { Issue.record("not a table"); return }
        #expect(last["id"] == .string("d5999") && last["zone"] == .string("z49"))
    }
}
