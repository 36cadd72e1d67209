import TOML
import Testing

/// `parse(bytes:streaming:each:)`: the tables of a streamed array go to the
/// caller as each completes, in order, and the document keeps none of them.
@Suite struct TOMLStreamingTests {
    static func stream(_ text: String) throws(TOMLError) -> (document: TOMLTable, handed: [(String, Int, TOMLTable)]) {
        var handed: [(String, Int, TOMLTable)] = []
        let document = try TOMLParser.parse(bytes: Array(text.utf8), streaming: ["device"]) { handed.append(($0, $1, $2)) }
        return (document, handed)
    }

    @Test func eachStreamedTableIsHandedOverOnceCompleteAndNotKept() throws {
        let text = """
            title = "registry"
            [[device]]
            id = "a"
            [[codec_rule]]
            codec = "x"
            [[device]]
            id = "b"
            n = 2
            [zone]
            name = "centro"
            [[device]]
            id = "c"
            """
        let (document, handed) = try Self.stream(text)
        #expect(handed.map(\.1) == [1, 2, 3] && handed.allSatisfy { $0.0 == "device" })
        #expect(handed.map { $0.2["id"] } == [.string("a"), .string("b"), .string("c")])
        #expect(handed[1].2["n"] == .integer(2) && handed[1].2.entry("n")?.line == 8, "keys keep their lines")
        #expect(document["device"] == .array([]), "the document keeps none of them")
        // What is not streamed stays in the document.
        guard case let .array(rules) = document["codec_rule"], case let .table(rule) = rules.first else {
            Issue.record("codec_rule lost: \(String(describing: document["codec_rule"]))")
            return
        }
        #expect(rule["codec"] == .string("x") && document["title"] == .string("registry"))
        // The same text parsed whole gives the same tables.
        guard case let .array(whole) = try TOMLParser.parse(text)["device"] else { Issue.record("no devices"); return }
        #expect(whole == handed.map { TOMLValue.table($0.2) })
    }

    @Test func errorsAreThoseOfTheWholeParse() {
        // A key set twice in a streamed table, and a header reaching into one already handed over.
        #expect(throws: TOMLError.self) { try Self.stream("[[device]]\nid = \"a\"\nid = \"b\"\n") }
        #expect(throws: TOMLError.self) { try Self.stream("[[device]]\nid = \"a\"\n[device.more]\nx = 1\n") }
        #expect(throws: TOMLError.self) { try Self.stream("device = 3\n[[device]]\nid = \"a\"\n") }
    }
}
