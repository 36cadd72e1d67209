import ArgumentParser
import Codecs
import FoundationEssentials
import Gateway
import Readings
import Uplink

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode one payload (HEX) or one envelope document (--envelope KIND FILE) and print the readings as JSON.",
        discussion: """
            Goes through the daemon's own pipeline (Uplink): the codec, derived values and the plausibility \
            check; with --envelope also the envelope, the registry and the window. What the daemon would \
            quarantine is printed as an error with its reason.
            """)

    @Option(help: "Codec id (e.g. elsys, milesight:em310-udl, cayenne-lpp). With --envelope, defaults to the registry's choice.") var codec: String?
    @Option(help: "LoRaWAN fPort (payload mode).") var fport: Int?
    @Option(help: "Envelope of FILE: chirpstack, tts or nbiot.") var envelope: String?
    @Option(help: "MQTT topic the document came on (envelope mode).") var topic: String?
    @OptionGroup var configOption: ConfigOption
    @Argument(help: "Payload as hex, or with --envelope the document's file.") var input: String

    func fail(_ message: String) -> ExitCode {
        StandardError.write("cannot decode: \(message)\n")
        return ExitCode.failure
    }

    func run() throws {
        // Layout codecs and the registry come from the config.
        let settings = try configOption.load(credentialsLater: true)
        if let codec, settings.catalog.codec(codec) == nil {
            throw fail("unknown codec '\(codec)'; known: \(settings.catalog.ids.joined(separator: ", "))")
        }
        if let envelope { try decodeEnvelope(envelope, settings: settings) } else { try decodePayload(settings: settings) }
    }

    /// HEX with --codec: the pipeline's codec-to-plausibility stage for a device of that codec.
    private func decodePayload(settings: GatewayConfig) throws {
        guard let bytes = Hex.decode(input.filter { !$0.isWhitespace }) else { throw fail("'\(input)' is not hex") }
        guard let codec else { throw fail("give --codec ID (or --envelope KIND FILE)") }
        let pipeline = UplinkPipeline(config: settings)
        switch pipeline.decodePayload(bytes, fPort: fport, device: Device(id: "cli", codecID: codec, kind: .generic)) {
        case let .failure(rejection): throw fail("\(rejection.reason.rawValue): \(rejection.detail)")
        case let .success(decoded): print(Self.json(header: [], codec: codec, values: decoded.values, notes: decoded.notes))
        }
    }

    /// An envelope document: the whole pipeline, as the daemon runs it on a
    /// message that came on `--topic` (every topic routes to KIND here).
    private func decodeEnvelope(_ envelope: String, settings: GatewayConfig) throws {
        guard let kind = EnvelopeKind(rawValue: envelope) else { throw fail("envelope '\(envelope)' is not chirpstack, tts or nbiot") }
        guard let data = FileManager.default.contents(atPath: input) else { throw fail("cannot read \(input)") }
        var registry = settings.registry
        if let codec {
            // --codec names the codec whatever the registry says.
            registry = DeviceRegistry(devices: [], rules: [CodecRule(topic: TopicFilter("#"), codecID: codec, kind: .generic)])
        }
        let pipeline = UplinkPipeline(subscriptions: [Subscription(filter: TopicFilter("#")!, envelope: kind)], registry: registry,
                                      catalog: settings.catalog, windows: settings.windows, maxClockSkewMillis: settings.maxClockSkewMillis)
        let raw = RawUplink(id: 0, receivedAt: GatewayClock.now(), topic: topic ?? "", message: Array(data))
        let (outcome, diagnostics) = pipeline.process(raw)
        switch outcome {
        case let .decoded(facts, rows):
            let header: [(String, JSONText)] = [("device", .string(facts.device)), ("fCnt", facts.fCnt.map { .integer(Int64($0)) } ?? .null),
                                                ("fPort", facts.fPort.map { .integer(Int64($0)) } ?? .null)]
            let values = rows.map { DecodedValue(metric: $0.reading.metric, channel: $0.reading.channel, value: $0.reading.value, time: $0.reading.time) }
            print(Self.json(header: header, codec: diagnostics.codecID ?? "", values: values, notes: diagnostics.notes))
        case let .event(type, device, _, _):
            print(JSONText.object([("event", .string(type)), ("device", device.map { .string($0) } ?? .null), ("readings", .array([])),
                                   ("notes", .array([]))]).serialized())
        case let .ignored(facts, reason):
            print(JSONText.object([("device", .string(facts.device)), ("ignored", .string(reason)), ("readings", .array([]))]).serialized())
        case let .quarantined(device, _, reason, detail):
            if reason == .unknownDevice { throw fail("device \(device ?? "-") is not in the registry of \(settings.configPath); give --codec") }
            throw fail("\(reason.rawValue): \(detail)")
        }
    }

    static func json(header: [(String, JSONText)], codec: String, values: [DecodedValue], notes: [DecodeNote]) -> String {
        let readings = values.map { value -> JSONText in
            var members: [(String, JSONText)] = [("metric", .string(value.metric.name))]
            if let channel = value.channel { members.append(("channel", .integer(Int64(channel)))) }
            // The UN/CEFACT code the hubs get, and the symbol people read.
            members += [("value", .string(value.decimalText)), ("unit", .string(value.metric.unitCode)), ("symbol", .string(value.metric.unitSymbol))]
            if let time = value.time { members.append(("time", .string(RFC3339.format(time)))) }
            return .object(members)
        }
        return JSONText.object(header + [("codec", .string(codec)), ("readings", .array(readings)),
                                         ("notes", .array(notes.map { .string($0.description) }))]).serialized()
    }
}
