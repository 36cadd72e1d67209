import Aggregation
import Codecs
import MQTT
import Readings
import Store

/// Envelope → decode → validate → window, for one committed raw uplink.
/// Pure: everything it needs is in its fields; the result says what to store.
public struct UplinkPipeline: Sendable {
    public let subscriptions: [GatewayConfig.Subscription]
    public let registry: DeviceRegistry
    public let catalog: CodecCatalog
    public let windows: [SensorKind: Int64]
    public let maxClockSkewMillis: Int64

    public init(config: GatewayConfig) {
        subscriptions = config.subscriptions
        registry = config.registry
        catalog = config.catalog
        windows = config.windows
        maxClockSkewMillis = config.maxClockSkewMillis
    }

    /// What happened besides the outcome, for logs and metrics.
    public struct Diagnostics: Sendable, Equatable {
        public var envelope: EnvelopeKind?
        public var kind: SensorKind?
        public var notes: [DecodeNote] = []
        public var sentinels = 0
        /// The network time was too far from the gateway clock; receive time used.
        public var clockSkewed = false
        public var deduplicationID: String?
    }

    public func process(_ raw: RawUplink) -> (ProcessedOutcome, Diagnostics) {
        var diagnostics = Diagnostics()
        guard let route = subscriptions.first(where: { $0.filter.matches(raw.topic) }) else {
            return (.quarantined(device: nil, facts: nil, category: "no_route", reason: "no [[mqtt.subscription]] matches topic '\(raw.topic)'"), diagnostics)
        }
        diagnostics.envelope = route.envelope
        let event: EnvelopeEvent
        do {
            event = try route.envelope.parser.parse(topic: raw.topic, message: raw.message)
        } catch {
            return (.quarantined(device: nil, facts: nil, category: error.category, reason: "\(route.envelope.rawValue) envelope: \(error)"), diagnostics)
        }
        guard case let .uplink(uplink) = event else {
            guard case let .event(type, device, values) = event else { return (.event(type: "unknown", device: nil, readings: []), diagnostics) }
            // Values an event carries (a status battery level) are kept for registered devices.
            guard let device, !values.isEmpty, let known = registry.resolve(device, deviceProfile: nil, topic: raw.topic) else {
                return (.event(type: type, device: device, readings: []), diagnostics)
            }
            let length = windows[known.kind] ?? 15 * 60_000
            let rows = values.filter { $0.metric.plausible.contains($0.value) }.map { value in
                ReadingRow(reading: Reading(uplinkID: raw.id, device: known.id, metric: value.metric, channel: value.channel, time: raw.receivedAt, value: value.value),
                           windowLength: length, windowStart: Window.containing(raw.receivedAt, length: length).start)
            }
            return (.event(type: type, device: device, readings: rows), diagnostics)
        }
        diagnostics.deduplicationID = uplink.deduplicationID
        let frameTime = windowTime(network: uplink.networkTime, received: raw.receivedAt, diagnostics: &diagnostics)
        var facts = FrameFacts(envelope: route.envelope.rawValue, device: uplink.device, fCnt: uplink.fCnt,
                               fPort: uplink.fPort, networkTime: uplink.networkTime,
                               payloadFingerprint: uplink.fCnt == nil ? GatewayStore.fingerprint(uplink.payload) : nil)
        guard let device = registry.resolve(uplink.device, deviceProfile: uplink.deviceProfileName, topic: raw.topic) else {
            return (.quarantined(device: uplink.device, facts: facts, category: ProcessedOutcome.unknownDevice,
                                 reason: "device \(uplink.device) is not in the device registry and no codec rule matches"), diagnostics)
        }
        diagnostics.kind = device.kind
        if registry.device(device.id) == nil {
            facts.ruleKind = device.kind.rawValue
            facts.ruleZone = device.rollupGroup
        }
        if uplink.fPort == 0 || (uplink.payload.isEmpty && uplink.fPort == nil) {
            return (.ignored(facts, reason: "MAC-only frame (fPort 0), nothing to decode"), diagnostics)
        }
        guard let codec = catalog.codec(device.codecID) else {
            return (.quarantined(device: device.id, facts: facts, category: "unknown_codec", reason: "codec '\(device.codecID)' is not available"), diagnostics)
        }
        let result: DecodeResult
        do {
            result = try codec.decode(uplink.payload, fPort: uplink.fPort)
        } catch {
            return (.quarantined(device: device.id, facts: facts, category: error.category, reason: "\(codec.id): \(error)"), diagnostics)
        }
        diagnostics.notes = result.notes
        diagnostics.sentinels = result.sentinels
        let context = DerivedValues.Context(kind: device.kind, binDepthMillimetres: device.binDepthMillimetres,
                                            sensorOffsetMillimetres: device.sensorOffsetMillimetres)
        let values = result.values + DerivedValues.derive(result.values, context: context)
        if let implausible = values.first(where: { !$0.metric.plausible.contains($0.value) }) {
            let range = implausible.metric.plausible
            return (.quarantined(device: device.id, facts: facts, category: "implausible",
                                 reason: "\(codec.id): \(implausible.metric.name)\(implausible.channel.map { " channel \($0)" } ?? "") = \(implausible.decimalText) \(implausible.metric.unitSymbol) is outside the plausible range \(FixedPoint.decimalString(range.lowerBound, decimals: implausible.metric.decimals))...\(FixedPoint.decimalString(range.upperBound, decimals: implausible.metric.decimals))"),
                    diagnostics)
        }
        let windowLength = windows[device.kind] ?? 15 * 60_000
        let rows = values.map { value -> ReadingRow in
            let time = value.time ?? frameTime
            let reading = Reading(uplinkID: raw.id, device: device.id, metric: value.metric, channel: value.channel, time: time, value: value.value)
            return ReadingRow(reading: reading, windowLength: windowLength, windowStart: Window.containing(time, length: windowLength).start)
        }
        return (.decoded(facts, rows), diagnostics)
    }

    /// The device/network time when it is sane, else the receive time.
    func windowTime(network: EpochMillis?, received: EpochMillis, diagnostics: inout Diagnostics) -> EpochMillis {
        guard let network else { return received }
        let (difference, overflow) = network.subtractingReportingOverflow(received)
        if overflow || difference.magnitude > UInt64(maxClockSkewMillis) {
            diagnostics.clockSkewed = true
            return received
        }
        return network
    }
}
