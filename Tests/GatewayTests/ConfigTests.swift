import Codecs
import Foundation
@testable import Gateway
import TOML
import Logging
import Readings
import Testing

/// Writes config files into a temporary directory for one test.
struct ConfigDirectory {
    let path: String

    init(config: String, devices: String = "", codecs: [String: String] = [:]) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("citygate-config-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path + "/codecs", withIntermediateDirectories: true)
        try config.write(toFile: path + "/citygate.toml", atomically: true, encoding: .utf8)
        try devices.write(toFile: path + "/devices.toml", atomically: true, encoding: .utf8)
        for (name, text) in codecs { try text.write(toFile: path + "/codecs/" + name, atomically: true, encoding: .utf8) }
    }

    var configPath: String { path + "/citygate.toml" }

    func errors() -> [String] {
        do {
            _ = try GatewayConfig.load(path: configPath)
            return []
        } catch let errors as ConfigErrors {
            return errors.errors.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }
}

@Suite struct ConfigTests {
    static let repositoryConfig = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Config/citygate.toml").path

    @Test func shippedConfigPassesItsOwnValidation() throws {
        let config = try GatewayConfig.load(path: Self.repositoryConfig)
        #expect(config.registry.count == 5)
        #expect(config.catalog.codec("an:an-303") != nil)  // from Config/codecs/an-303.toml
        #expect(config.subscriptions.count == 3)
        #expect(config.effectiveHubs.map(\.name) == ["file"])
    }

    @Test(arguments: [
        ("[gateway]\nidd = 1\n", "citygate.toml:2: gateway.idd: unknown key"),
        ("[mqtt]\nqos = 2\n", "citygate.toml:2: mqtt.qos: 2 is outside 0...1"),
        ("[mqtt]\nbroker = \"tcp://x\"\n", "mqtt.broker: 'tcp://x' is not mqtt://HOST[:PORT]"),
        ("[mqtt]\nkeepalive_seconds = \"30\"\n", "mqtt.keepalive_seconds: expected an integer, found string"),
        ("[aggregation.windows]\nparking = \"5 minutes\"\n", "aggregation.windows.parking: '5 minutes' is not a duration"),
        ("[[hub]]\nname = \"a\"\nkind = \"ngsi\"\nurl = \"http://x\"\n", "hub[1].kind: 'ngsi' is not one of"),
        ("[[hub]]\nname = \"a\"\nkind = \"file\"\nurl = \"/tmp/a\"\n[[hub]]\nname = \"a\"\nkind = \"file\"\nurl = \"/tmp/b\"\n", "hub 'a' is defined twice"),
        ("[[mqtt.subscription]]\ntopic = \"a/#/b\"\nenvelope = \"tts\"\n", "is not a valid MQTT topic filter"),
        ("[gateway\n", "syntax:"),
        ("[store]\nreading_retention = \"1h\"\n[aggregation]\nlateness = \"2h\"\n",
         "store.reading_retention: PT1H is shorter than [aggregation] lateness (PT2H)"),
        ("[[hub]]\nname = \"a\"\nkind = \"ngsi-ld\"\nurl = \"http://x\"\nauth = \"bearer\"\n", "hub[1].token_file: required with auth = \"bearer\""),
        ("[[hub]]\nname = \"a\"\nkind = \"ngsi-ld\"\nurl = \"http://x\"\nauth = \"basic\"\n", "hub[1].auth: 'basic' is not one of"),
        ("[[hub]]\nname = \"a\"\nkind = \"sensorthings\"\nurl = \"http://x\"\nauth = \"oauth2\"\nclient_id = \"c\"\n", "hub[1].token_url: required with auth = \"oauth2\""),
        ("[[hub]]\nname = \"a\"\nkind = \"ngsi-ld\"\nurl = \"http://x\"\nauth = \"bearer\"\ntoken_file = \"t\"\ntoken_credential = \"t\"\n", "give token_file or token_credential, not both"),
        ("[[hub]]\nname = \"a\"\nkind = \"ngsi-ld\"\nurl = \"http://x\"\nretention_days = 3\n", "only a file output has a retention"),
        ("[[hub]]\nname = \"a\"\nkind = \"file\"\nurl = \"out\"\nauth = \"bearer\"\ntoken_file = \"t\"\n", "a file output takes no auth"),
        ("[privacy]\nmin_zone_homes = 1\n", "privacy.min_zone_homes: 1 is outside 2...1000"),
        ("[aggregation]\nlateness = \"soon\"\n", "aggregation.lateness: 'soon' is not a duration"),
    ])
    func everyConfigErrorNamesFileKeyAndReason(config: String, message: String) throws {
        let directory = try ConfigDirectory(config: config)
        let errors = directory.errors()
        #expect(errors.contains { $0.contains(message) }, "\(errors)")
        #expect(errors.allSatisfy { $0.hasPrefix(directory.path) })
    }

    @Test func registryErrors() throws {
        let devices = """
            [[device]]
            id = "A840410000000101"
            codec = "elsys"
            kind = "air_quality"

            [[device]]
            id = "a840410000000101"
            codec = "elsys"
            kind = "air_quality"

            [[device]]
            id = "a840410000000102"
            codec = "no-such-codec"
            kind = "space"
            longitude = 200.5
            latitude = 1

            [[codec_rule]]
            codec = "elsys"
            kind = "damp"
            """
        let errors = try ConfigDirectory(config: "", devices: devices).errors()
        #expect(errors.contains { $0.contains("devices.toml:7: device[2].id: device a840410000000101 is listed twice") }, "\(errors)")
        #expect(errors.contains { $0.contains("device[3].codec: unknown codec 'no-such-codec'") })
        #expect(errors.contains { $0.contains("device[3].kind: 'space' is not one of") })
        #expect(errors.contains { $0.contains("device[3].longitude: 200.5 is out of range") })
        #expect(errors.contains { $0.contains("codec_rule[1].device_profile: a rule needs device_profile or topic") })
    }

    @Test func codecRulesNameCodecsForUnlistedDevices() throws {
        let devices = """
            [[codec_rule]]
            device_profile = "Elsys ERS CO2"
            codec = "elsys:ers-co2"
            kind = "air_quality"

            [[codec_rule]]
            topic = "nbiot/em300/+"
            codec = "milesight:em300-th"
            kind = "damp"
            zone = "north"
            """
        let config = try GatewayConfig.load(path: ConfigDirectory(config: "", devices: devices).configPath)
        #expect(config.registry.resolve("a8", deviceProfile: "Elsys ERS CO2", topic: "x")?.codecID == "elsys:ers-co2")
        #expect(config.registry.resolve("86", deviceProfile: nil, topic: "nbiot/em300/86")?.zone == "north")
        #expect(config.registry.resolve("a9", deviceProfile: "Other", topic: "x") == nil)
    }

    @Test func layoutFileErrorsAreStrict() throws {
        let codec = """
            id = "Bad Id"
            shape = "tag_stream"
            [[tag]]
            tag = 300
            type = "u17"
            metric = "radiance"
            """
        let errors = try ConfigDirectory(config: "", codecs: ["bad.toml": codec]).errors()
        #expect(errors.contains { $0.contains("bad.toml:1: id: 'Bad Id' must be lowercase") }, "\(errors)")
        #expect(errors.contains { $0.contains("bad.toml:4: tag[1].tag: 300 is outside 0...255") })
        #expect(errors.contains { $0.contains("bad.toml:5: tag[1].type: 'u17' is not one of") })
        #expect(errors.contains { $0.contains("bad.toml:6: tag[1].metric: unknown metric 'radiance'") })
    }

    @Test func fixedLayoutFileDecodes() throws {
        // An LHT65-like fixed layout written as data: battery with status bits, SHT temperature, probe with a sentinel.
        let codec = """
            id = "example:fixed"
            shape = "fixed"
            length = 6
            fports = [2]
            [[field]]
            offset = 0
            type = "u16"
            mask = 0x3FFF
            metric = "battery_voltage"
            [[field]]
            offset = 2
            type = "s16"
            metric = "temperature"
            [[field]]
            offset = 4
            type = "s16"
            byte_order = "little"
            metric = "temperature"
            channel = 1
            sentinel = [0x7FFF]
            """
        let config = try GatewayConfig.load(path: ConfigDirectory(config: "", codecs: ["fixed.toml": codec]).configPath)
        let layout = try #require(config.catalog.codec("example:fixed"))
        let result = try layout.decode([0xCB, 0xF6, 0xFF, 0x38, 0xDD, 0x0A], fPort: 2)
        #expect(result.values.map { "\($0.metric.name)\($0.channel.map { ".\($0)" } ?? "")=\($0.value)" } == ["battery_voltage=3062", "temperature=-200", "temperature.1=2781"])
        let sentinel = try layout.decode([0xCB, 0xF6, 0x0B, 0x0D, 0xFF, 0x7F], fPort: 2)
        #expect(sentinel.sentinels == 1 && sentinel.values.count == 2)
        #expect(throws: DecodeError.self) { try layout.decode([0xCB, 0xF6], fPort: 2) }
        #expect(throws: DecodeError.self) { try layout.decode([0xCB, 0xF6, 0x0B, 0x0D, 0xFF, 0x7F], fPort: 3) }
    }

    /// Vector 24 (published, reference vectors.json): a real ChirpStack v4
    /// uplink from an AN-303, decoded by `Config/codecs/an-303.toml` alone.
    @Test func an303IsDefinedOnlyByItsLayoutFile() throws {
        let config = try GatewayConfig.load(path: Self.repositoryConfig)
        #expect(CodecCatalog.builtIn.codec("an:an-303") == nil)
        let codec = try #require(config.catalog.codec("an:an-303"))
        let payload: [UInt8] = [0x00, 0x01, 0x03, 0x04, 0x0E, 0x15, 0x7D, 0x00, 0x77, 0x01, 0x10, 0x0A, 0x08, 0x12, 0x02, 0x3F, 0x03, 0x01]
        let result = try codec.decode(payload, fPort: 210)
        #expect(result.values.map { "\($0.metric.name)=\($0.value)" } == ["battery_voltage=3605", "temperature=2568", "relative_humidity=5750"])
        #expect(result.noteTexts.contains("tamper event 1"))
    }
}

@Suite struct LogLineTests {
    @Test func journalLinesCarryTheSyslogPriority() {
        let fields: Logger.Metadata = ["hub": "opendata", "error": "HTTP 503 busy"]
        #expect(LineLogHandler.line(level: .warning, message: "hub delivery failed", fields: fields, style: .journal)
                == "<4>warning hub delivery failed error=\"HTTP 503 busy\" hub=opendata\n")
        #expect(LineLogHandler.line(level: .critical, message: "a\nb", fields: [:], style: .journal) == "<2>critical a\\nb\n")
        #expect(LineLogHandler.line(level: .info, message: "started", fields: [:], style: .plain) == "info started\n")
        #expect(LineLogHandler.line(level: .debug, message: "x", fields: [:], style: .journal).hasPrefix("<7>"))
        #expect(LineLogHandler.detectStyle(environment: ["JOURNAL_STREAM": "1:1"]) != .journal, "not our stderr: no prefix")
    }

    /// Outside journald a line starts with its UTC time, in the configured format.
    @Test func linesOutsideTheJournalCarryTheirTime() throws {
        let time: Int64 = 1_796_000_000_000  // 2026-11-30T00:53:20Z
        let fields: Logger.Metadata = ["hub": "opendata", "error": "HTTP 503 \"busy\""]
        #expect(LineLogHandler.line(level: .info, message: "started", fields: [:], style: .plain, time: time)
                == "2026-11-30T00:53:20.000Z info started\n")
        #expect(LineLogHandler.line(level: .warning, message: "hub delivery failed", fields: fields, style: .plain, format: .logfmt, time: time + 7)
                == "ts=2026-11-30T00:53:20.007Z level=warning msg=\"hub delivery failed\" error=\"HTTP 503 \\\"busy\\\"\" hub=opendata\n")
        let json = LineLogHandler.line(level: .error, message: "a\nb", fields: fields, style: .plain, format: .json, time: time)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String])
        #expect(object == ["ts": "2026-11-30T00:53:20.000Z", "level": "error", "msg": "a\nb", "hub": "opendata", "error": "HTTP 503 \"busy\""])
        #expect(json.hasSuffix("}\n") && json.filter { $0 == "\n" }.count == 1, "one object, one line")
        // The journal stamps its own lines: no time, whatever the format.
        #expect(LineLogHandler.line(level: .info, message: "started", fields: [:], style: .journal, format: .json, time: time) == "<6>info started\n")
    }

    @Test func theFormatComesFromTheLogTable() throws {
        let directory = try ConfigDirectory(config: "[log]\nformat = \"logfmt\"\nlevel = \"debug\"\n", devices: "")
        let config = try GatewayConfig.load(path: directory.configPath)
        #expect(config.logFormat == .logfmt && config.logLevel == "debug")
        let bad = try ConfigDirectory(config: "[log]\nformat = \"xml\"\n", devices: "")
        #expect(throws: ConfigErrors.self) { try GatewayConfig.load(path: bad.configPath) }
    }
}

@Suite struct EnvironmentSubstitutionTests {
    @Test func variablesExpandAndAnUnsetOneIsAnError() throws {
        let directory = try ConfigDirectory(config: """
            [mqtt]
            broker = "mqtt://${BROKER_HOST}:1883"
            [[hub]]
            name = "opendata"
            kind = "sensorthings"
            url = "https://${HUB_HOST}/v1.1?x=$${literal}"
            """)
        let config = try GatewayConfig.load(path: directory.configPath, environment: ["BROKER_HOST": "10.0.0.5", "HUB_HOST": "hub.example"])
        #expect(config.brokerHost == "10.0.0.5")
        #expect(config.hubs.first?.settings.url == "https://hub.example/v1.1?x=${literal}")
        for bad in ["${", "${}", "${1HOST}", "${HOST"] {
            let broken = try ConfigDirectory(config: "[mqtt]\nbroker = \"mqtt://\(bad):1883\"\n")
            #expect(broken.errors().contains { $0.contains("mqtt.broker") }, "\(bad): \(broken.errors())")
        }
        do {
            _ = try GatewayConfig.load(path: directory.configPath, environment: ["BROKER_HOST": "10.0.0.5"])
            Issue.record("an unset variable must be an error")
        } catch let errors as ConfigErrors {
            #expect(errors.errors.map(\.description).contains { $0.contains("hub[1].url: environment variable HUB_HOST is not set") }, "\(errors.errors)")
        }
    }
}

@Suite struct LogRateLimiterTests {
    @Test func aBurstThenCountedThenTheCountIsReported() {
        let limiter = LogRateLimiter(burst: 2, period: .seconds(60))
        let start = ContinuousClock.now
        #expect(limiter.admit("implausible", now: start) == 0)
        #expect(limiter.admit("implausible", now: start) == 0)
        #expect(limiter.admit("implausible", now: start + .seconds(1)) == nil)
        #expect(limiter.admit("implausible", now: start + .seconds(2)) == nil)
        #expect(limiter.admit("unknown_device", now: start + .seconds(2)) == 0, "keys are limited apart")
        #expect(limiter.admit("implausible", now: start + .seconds(61)) == 2, "the next line says how many were held back")
        #expect(limiter.admit("implausible", now: start + .seconds(62)) == 0)
    }
}

@Suite struct RegistryDirectoryTests {
    static func device(_ id: String, _ zone: String) -> String {
        "[[device]]\nid = \"\(id)\"\ncodec = \"cayenne-lpp\"\nkind = \"parking\"\nzone = \"\(zone)\"\n"
    }

    @Test func aDirectoryOfRegistriesIsOneRegistryAndADuplicateAcrossFilesIsAnError() throws {
        let directory = try ConfigDirectory(config: "[gateway]\ndevice_registry = \"devices.d\"\n")
        try FileManager.default.createDirectory(atPath: directory.path + "/devices.d", withIntermediateDirectories: true)
        try Self.device("a840410000000001", "centro").write(toFile: directory.path + "/devices.d/centro.toml", atomically: true, encoding: .utf8)
        try Self.device("a840410000000002", "retiro").write(toFile: directory.path + "/devices.d/retiro.toml", atomically: true, encoding: .utf8)
        let config = try GatewayConfig.load(path: directory.configPath)
        #expect(config.registry.count == 2 && config.registry.device("a840410000000002")?.zone == "retiro")

        try Self.device("a840410000000001", "sol").write(toFile: directory.path + "/devices.d/sol.toml", atomically: true, encoding: .utf8)
        let errors = directory.errors()
        #expect(errors.contains { $0.contains("sol.toml") && $0.contains("device a840410000000001 is listed twice (also in") && $0.contains("centro.toml") }, "\(errors)")
    }
}

@Suite struct SecretFileTests {
    @Test func aCredentialIsAFileUnderTheCredentialsDirectory() throws {
        let directory = try ConfigDirectory(config: "[mqtt]\nusername = \"citygate\"\npassword_credential = \"mqtt-password\"\n")
        let config = try GatewayConfig.load(path: directory.configPath, environment: ["CREDENTIALS_DIRECTORY": "/run/credentials/citygate.service"])
        #expect(config.passwordFile == "/run/credentials/citygate.service/mqtt-password")
        do {
            _ = try GatewayConfig.load(path: directory.configPath, environment: [:])
            Issue.record("no credentials directory must be an error")
        } catch let errors as ConfigErrors {
            #expect(errors.errors.contains { "\($0)".contains("mqtt.password_credential: $CREDENTIALS_DIRECTORY is not set") })
        }
        let both = try ConfigDirectory(config: "[mqtt]\npassword_file = \"p\"\npassword_credential = \"p\"\n")
        #expect(both.errors().contains { $0.contains("mqtt.password_file: give password_file or password_credential, not both") })
    }
}
