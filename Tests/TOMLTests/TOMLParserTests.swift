import Testing
@testable import TOML

@Suite struct TOMLParserTests {
    @Test func parsesTablesArraysAndValues() throws {
        let document = try TOMLParser.parse("""
            # comment
            title = "citygate" # trailing comment
            [mqtt]
            broker = 'mqtt://127.0.0.1:1883'
            qos = 1
            clean_session = false
            ratio = 0.5
            hex = 0xFF
            big = 1_000
            list = [1, 2,
                    3, ] # multi-line
            inline = { a = 1, b.c = "x" }
            [[mqtt.subscription]]
            topic = "a/+"
            [[mqtt.subscription]]
            topic = "b/#"
            [a.b]
            "quoted key" = "\\u00e9\\n"
            """)
        #expect(document["title"] == .string("citygate"))
        guard case let .table(mqtt)? = document["mqtt"] else { Issue.record("no [mqtt]"); return }
        #expect(mqtt["qos"] == .integer(1))
        #expect(mqtt["clean_session"] == .bool(false))
        #expect(mqtt["ratio"] == .float("0.5"))
        #expect(mqtt["hex"] == .integer(255))
        #expect(mqtt["big"] == .integer(1000))
        #expect(mqtt["list"] == .array([.integer(1), .integer(2), .integer(3)]))
        #expect(mqtt.entry("qos")?.line == 5)
        guard case let .array(subscriptions)? = mqtt["subscription"] else { Issue.record("no subscriptions"); return }
        #expect(subscriptions.count == 2)
        guard case let .table(inline)? = mqtt["inline"], case let .table(b)? = inline["b"] else { Issue.record("inline"); return }
        #expect(b["c"] == .string("x"))
        guard case let .table(a)? = document["a"], case let .table(ab)? = a["b"] else { Issue.record("a.b"); return }
        #expect(ab["quoted key"] == .string("é\n"))
    }

    @Test(arguments: [
        ("key = ", 1), ("a = 1\na = 2", 2), ("[t]\n[t]", 2), ("x = \"open", 1), ("x = 1 2", 1),
        ("x = 99999999999999999999", 1), ("x = 1979-05-27", 1), ("x = [1, 2", 1), ("x = tru", 1), ("= 1", 1),
        ("x = 0123", 1), ("x = nan", 1),
    ])
    func rejectsBadInputWithTheLine(text: String, line: Int) {
        do {
            _ = try TOMLParser.parse(text)
            Issue.record("parsed invalid TOML: \(text)")
        } catch {
            #expect(error.line == line, "\(error)")
        }
    }

    @Test func survivesArbitraryBytes() {
        // Untrusted config text must give an error, never a trap.
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("[]{}=\"'#.,\n \\x0123abc-_+eE:")
        for _ in 0..<2000 {
            let text = String((0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            _ = try? TOMLParser.parse(text)
        }
    }
}
