import Foundation
import Testing

/// The status page in a real browser (Debian's chromium, headless) during a
/// simulator run: its DOM shows the uplink count and the hub backlog that
/// `/api/status` gives around the same moment; screenshots at phone and
/// desktop width render. `/api/status` keeps `citygate status --json`'s fields.
@Suite(.serialized) struct StatusPageTests {
    static let chromium = "/usr/bin/chromium"

    static func browser(_ arguments: [String]) throws -> (status: Int32, output: Data) {
        // As root (CI) chromium needs --no-sandbox; nothing here leaves 127.0.0.1.
        try capture(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"] + arguments)
    }

    /// The number in the element with this id, from a dumped DOM.
    static func number(_ id: String, in dom: String) -> Int? {
        guard let range = dom.range(of: "id=\"\(id)\">") else { return nil }
        return Int(dom[range.upperBound...].prefix { $0.isNumber })
    }

    /// Width and height from a PNG's IHDR.
    static func pngSize(_ path: String) throws -> (width: Int, height: Int) {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard data.count > 24, data.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { throw FixtureError("\(path) is not a PNG") }
        func be32(_ offset: Int) -> Int { data[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) } }
        return (be32(16), be32(20))
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: chromium)))
    func thePageShowsWhatTheAPISaysInARealBrowser() async throws {
        let directory = try TestEnvironment.temporaryDirectory("status-page")
        let broker = try await Broker(directory: directory)
        let gateway = try await GatewayProcess(broker: broker, directory: directory, extra: ["--window", "2s"])
        let page = "http://127.0.0.1:\(gateway.httpPort)/"
        func api() async throws -> [String: Any] {
            guard let response = await TestEnvironment.get(page + "api/status"), response.status == 200,
                  let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any] else { throw FixtureError("GET /api/status failed") }
            return object
        }
        func backlog(_ status: [String: Any]) -> Int { ((status["hub_status"] as? [String: Any])?["file"] as? [String: Any])?["backlog"] as? Int ?? -1 }
        func stored(_ status: [String: Any]) -> Int { status["uplinks_stored"] as? Int ?? -1 }

        // During a run: the DOM's figures lie between what the API said just before and just after.
        let simulator = try ManagedProcess(TestEnvironment.simulator, ["run", "--broker", broker.url, "--count", "300", "--rate", "100"],
                                           directory: directory, logName: "sim.log")
        try await gateway.waitFor("uplinks arriving", timeout: .seconds(20)) { stored(try await api()) > 20 }
        let before = try await api()
        let dump = try Self.browser(["--dump-dom", page])
        let after = try await api()
        let dom = String(decoding: dump.output, as: UTF8.self)
        #expect(dump.status == 0 && dom.contains("<title>citygate"), "chromium: \(dom.prefix(300))")
        let domStored = try #require(Self.number("uplinks-stored", in: dom), "no uplinks-stored in the DOM")
        #expect((stored(before)...stored(after)).contains(domStored), "page \(domStored), API \(stored(before))...\(stored(after))")
        // The backlog moves both ways during a run: present here, compared exactly once settled.
        _ = try #require(Self.number("hub-file-backlog", in: dom), "no hub backlog in the DOM")
        #expect(await simulator.waitForExit(timeout: .seconds(30)) == 0)

        // Settled: the page and the API agree exactly.
        try await gateway.waitFor("every uplink decoded", timeout: .seconds(30)) {
            let status = try await api()
            return stored(status) == 300 && status["uplinks_pending"] as? Int == 0
        }
        let settled = try await api()
        let settledDOM = String(decoding: try Self.browser(["--dump-dom", page]).output, as: UTF8.self)
        #expect(Self.number("uplinks-stored", in: settledDOM) == 300)
        let settledBacklog = Self.number("hub-file-backlog", in: settledDOM)
        let backlogAfter = backlog(try await api())
        #expect(settledBacklog == backlog(settled) || settledBacklog == backlogAfter, "page \(settledBacklog ?? -1), API \(backlog(settled)) then \(backlogAfter)")
        // The API keeps `citygate status --json`'s fields and shapes, and adds the live ones.
        let cli = try gateway.status()
        for key in cli.keys { #expect(settled[key] != nil, "/api/status lacks \(key)") }
        #expect((settled["hubs"] as? [String: Any])?["file"] != nil && settled["uplinks_stored"] as? Int == cli["uplinks_stored"] as? Int)
        for key in ["version", "commit", "uptime_seconds", "broker", "intake", "store", "hub_status", "quarantine_by_reason", "quarantine_newest", "problems"] {
            #expect(settled[key] != nil, "/api/status lacks \(key)")
        }
        #expect((settled["broker"] as? [String: Any])?["connected"] as? Bool == true)

        // Filters and paging work without scripts.
        let parking = String(decoding: try Self.browser(["--dump-dom", page + "?kind=parking"]).output, as: UTF8.self)
        #expect(parking.contains("1 of 5 devices") && parking.contains("a840410000000301") && !parking.contains("a840410000000101"))

        // Screenshots at phone and desktop width.
        for (name, width, height) in [("phone", 390, 1400), ("desktop", 1280, 1000)] {
            let path = directory + "/status-\(name).png"
            let shot = try Self.browser(["--window-size=\(width),\(height)", "--screenshot=\(path)", page])
            #expect(shot.status == 0)
            let size = try Self.pngSize(path)
            #expect(size.width == width && size.height == height, "\(name): \(size)")
            let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            #expect(bytes > 20_000, "\(name) screenshot is \(bytes) bytes: blank?")
        }
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }
}
