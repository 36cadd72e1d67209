import Foundation
import Testing
import TOML
@testable import Hubs

/// The hub-kind table: what the config reader, the factory and `--hub` read.
@Suite struct HubKindsTests {
    static let configFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Config/citygate.toml").path

    /// A `[[hub]]` table read as the config reader reads it.
    static func read(_ text: String) throws -> (HubConfig?, [String]) {
        let document = try TOMLParser.parse(text)
        let issues = ConfigIssues(environment: ["CREDENTIALS_DIRECTORY": "/run/credentials/citygate.service"])
        var root = TableReader(table: document, path: "", file: "test.toml", issues: issues)
        var hub: HubConfig?
        for var section in root.tables("hub") {
            hub = HubConfig.read(&section, baseDirectory: "/etc/citygate")
            section.finish()
        }
        root.finish()
        return (hub, issues.errors.map(\.description))
    }

    /// Each kind documents itself in the shipped config, and its example is valid config.
    @Test(arguments: HubKinds.all.map { $0.name })
    func theSampleIsInTheShippedConfigAndReads(kind: String) throws {
        let type = try #require(HubKinds.named(kind))
        let shipped = try String(contentsOfFile: Self.configFile, encoding: .utf8)
        #expect(shipped.contains(type.sampleConfig), "Config/citygate.toml lacks the \(kind) sample:\n\(type.sampleConfig)")
        let uncommented = type.sampleConfig.split(separator: "\n").map { $0.hasPrefix("# ") ? String($0.dropFirst(2)) : String($0) }
            .joined(separator: "\n")
        let (hub, errors) = try Self.read(uncommented)
        #expect(errors.isEmpty, "\(errors)")
        #expect(hub?.kindName == kind)
    }

    @Test func aKeyOfAnotherKindSaysWhoseItIs() throws {
        let (hub, errors) = try Self.read("[[hub]]\nname = \"a\"\nkind = \"ngsi-ld\"\nurl = \"http://x\"\nretention_days = 3\n")
        #expect(hub != nil)
        #expect(errors == ["test.toml:5: hub[1].retention_days: only a file output has a retention"])
        let (_, fileErrors) = try Self.read("[[hub]]\nname = \"f\"\nkind = \"file\"\nurl = \"out\"\ntenant = \"t\"\n")
        #expect(fileErrors.contains { $0.contains("hub[1].tenant: only an NGSI-LD hub takes tenant") }, "\(fileErrors)")
    }

    @Test func theCommandLineReadsAHubAsTheConfigWould() throws {
        guard case let .success(file) = HubConfig.fromCommandLine(kind: "file", url: "/tmp/out", name: "file") else {
            Issue.record("a file hub from the command line")
            return
        }
        #expect(file.kindName == "file" && file.settings.url == "/tmp/out" && file.settings.batchSize == 500)
        guard case let .failure(errors) = HubConfig.fromCommandLine(kind: "sensorthings", url: "ftp://x", name: "s") else {
            Issue.record("ftp:// is not an http(s) service root")
            return
        }
        #expect(errors.description.contains("'ftp://x' is not an http(s) URL"))
        #expect(HubKinds.namesText.hasPrefix("ngsi-ld, sensorthings") && HubKinds.namesText.hasSuffix(" or \(HubKinds.all.last!.name)"))
        #expect(HubKinds.all.allSatisfy { HubKinds.namesText.contains($0.name) })
    }

    @Test func equalityComparesTheKindsOwnSettings() {
        let settings = HubSettings(name: "n", url: "http://x")
        #expect(HubConfig(settings: settings, kind: NGSILDHubKind(tenant: "a")) == HubConfig(settings: settings, kind: NGSILDHubKind(tenant: "a")))
        #expect(HubConfig(settings: settings, kind: NGSILDHubKind(tenant: "a")) != HubConfig(settings: settings, kind: NGSILDHubKind(tenant: "b")))
        #expect(HubConfig(settings: settings, kind: NGSILDHubKind()) != HubConfig(settings: settings, kind: SensorThingsHubKind()))
    }
}
