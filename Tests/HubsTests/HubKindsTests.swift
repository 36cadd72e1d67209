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

/// Where the gateway's credentials may go.
@Suite struct HubLinksTests {
    let root = "http://hub.example:8080/FROST-Server/v1.1"

    @Test func onlyLinksUnderTheServiceRootAreFollowed() {
        #expect(HubLinks.isUnder(root, root + "/Observations(42)"))
        #expect(HubLinks.isUnder("https://hub.example/v1.1/", "https://hub.example:443/v1.1/Observations('a')"))
        #expect(!HubLinks.isUnder(root, "http://evil.example:8080/FROST-Server/v1.1/Observations(42)"))
        #expect(!HubLinks.isUnder(root, "https://hub.example:8080/FROST-Server/v1.1/Observations(42)"))
        #expect(!HubLinks.isUnder(root, "http://hub.example:8081/FROST-Server/v1.1/Observations(42)"))
        #expect(!HubLinks.isUnder(root, "http://hub.example:8080/FROST-Server/v1.10/Observations(42)"))
        #expect(!HubLinks.isUnder(root, "http://hub.example:8080/FROST-Server/v1.1/../admin"))
        #expect(!HubLinks.isUnder(root, "http://hub.example:8080@evil.example/FROST-Server/v1.1/Observations(1)"))
        #expect(!HubLinks.isUnder(root, "error"))
        #expect(!HubLinks.isUnder(root, "/FROST-Server/v1.1/Observations(42)"))
    }

    @Test func credentialsGoOverPlainHTTPOnlyToLoopback() throws {
        #expect(HubLinks.isInsecure("http://10.1.2.3:8080/v1.1"))
        #expect(!HubLinks.isInsecure("http://127.0.0.1:8080/v1.1") && !HubLinks.isInsecure("http://localhost/v1.1"))
        #expect(!HubLinks.isInsecure("https://hub.example/v1.1"))
        let hub = "[[hub]]\nname = \"a\"\nkind = \"sensorthings\"\nurl = \"http://hub.example/v1.1\"\nauth = \"bearer\"\ntoken_file = \"/etc/citygate/t\"\n"
        let (_, errors) = try HubKindsTests.read(hub)
        #expect(errors.contains { $0.contains("hub[1].auth: would send credentials over plain http:// to http://hub.example/v1.1") }, "\(errors)")
        let (allowed, none) = try HubKindsTests.read(hub + "allow_insecure_auth = true\n")
        #expect(allowed != nil && none.isEmpty, "\(none)")
        let oauth = "[[hub]]\nname = \"a\"\nkind = \"ngsi-ld\"\nurl = \"https://broker.example\"\nauth = \"oauth2\"\ntoken_url = \"http://idm.example/token\"\nclient_id = \"c\"\nclient_secret_file = \"/s\"\n"
        #expect(try HubKindsTests.read(oauth).1.contains { $0.contains("hub[1].token_url: would send credentials over plain http://") })
    }
}
