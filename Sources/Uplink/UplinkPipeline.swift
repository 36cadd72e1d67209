import Codecs
import Readings

/// Route → envelope → registry → codec → derived values → plausibility →
/// device-time check → window, for one committed raw uplink. Pure:
/// everything it needs is in its fields; the outcome says what to store.
///
/// `process` is the one entry point: the daemon's processing stage,
/// `citygate decode --envelope` and the fuzzer call it. `decodePayload` is
/// its codec-to-plausibility part alone, for a payload with no envelope
/// (`citygate decode HEX`). The frame-dedup decision follows in the store,
/// by `FrameDeduplication`'s rules, where the device's session is.
public struct UplinkPipeline: Sendable {
    public let subscriptions: [Subscription]
    public let registry: DeviceRegistry
    public let catalog: CodecCatalog
    public let windows: [SensorKind: Int64]
    public let maxClockSkewMillis: Int64
    /// History records older than this (before the arrival) are set aside.
    public let maxBackfillMillis: Int64

    /// The window length of a kind that the config leaves out.
    public static let defaultWindowMillis: Int64 = 15 * 60_000

    public init(subscriptions: [Subscription], registry: DeviceRegistry, catalog: CodecCatalog, windows: [SensorKind: Int64],
                maxClockSkewMillis: Int64, maxBackfillMillis: Int64 = 7 * 86_400_000) {
        self.subscriptions = subscriptions
        self.registry = registry
        self.catalog = catalog
        self.windows = windows
        self.maxClockSkewMillis = maxClockSkewMillis
        self.maxBackfillMillis = maxBackfillMillis
    }

    /// What happened besides the outcome, for logs and metrics.
    public struct Diagnostics: Sendable, Equatable {
        public var envelope: EnvelopeKind?
        public var kind: SensorKind?
        /// The codec the device's frame was decoded with.
        public var codecID: String?
        public var notes: [DecodeNote] = []
        public var sentinels = 0
        /// The network time was too far from the gateway clock; receive time used.
        public var clockSkewed = false
        /// Values with a time of their own (history records) set aside for
        /// an unbelievable device clock (`DeviceTime.isBelievable`).
        public var deviceTimesSetAside = 0
        public var deduplicationID: String?

        public init() {}
    }

    /// A payload decoded, derived and checked: what a device's frame holds.
    public struct DecodedPayload: Sendable, Equatable {
        public var values: [DecodedValue]
        public var notes: [DecodeNote]
        public var sentinels: Int
    }

    /// Why a payload gave no readings.
    public struct Rejection: Error, Sendable, Equatable {
        public var reason: QuarantineReason
        public var detail: String

        public init(reason: QuarantineReason, detail: String) {
            self.reason = reason
            self.detail = detail
        }
    }

    public func process(_ raw: RawUplink) -> (ProcessedOutcome, Diagnostics) {
        var diagnostics = Diagnostics()
        guard let route = subscriptions.first(where: { $0.filter.matches(raw.topic) }) else {
            return (.quarantined(device: nil, facts: nil, reason: .noRoute, detail: "no [[mqtt.subscription]] matches topic '\(raw.topic)'"), diagnostics)
        }
        diagnostics.envelope = route.envelope
        let event: EnvelopeEvent
        do {
            event = try route.envelope.parser(trustFrameIdentity: route.trustFrameIdentity).parse(topic: raw.topic, message: raw.message)
        } catch {
            return (.quarantined(device: nil, facts: nil, reason: error.category, detail: "\(route.envelope.rawValue) envelope: \(error)"), diagnostics)
        }
        if let device = event.device, let problem = DeviceIdentity.problem(with: device) {
            return (.quarantined(device: nil, facts: nil, reason: .invalidEnvelope,
                                 detail: "\(route.envelope.rawValue) envelope: device id '\(BoundedText.prefix(device, maxBytes: 80))' \(problem)"), diagnostics)
        }
        switch event {
        case let .event(type, device, values):
            return (networkEvent(type, device: device, values: values, raw: raw), diagnostics)
        case let .uplink(uplink):
            return (dataUplink(uplink, raw: raw, envelope: route.envelope, diagnostics: &diagnostics), diagnostics)
        }
    }

    /// A network-server event: values it carries (a status battery level)
    /// are kept for registered devices.
    private func networkEvent(_ type: String, device: DeviceID?, values: [DecodedValue], raw: RawUplink) -> ProcessedOutcome {
        guard let device, let known = registry.resolve(device, deviceProfile: nil, topic: raw.topic) else {
            return .event(type: type, device: device, readings: [], registered: false)
        }
        guard !values.isEmpty else { return .event(type: type, device: device, readings: []) }
        let windowLength = windowLength(of: known.kind)
        let rows = values.filter(Plausibility.isPlausible).map {
            readingRow(for: $0, of: known, at: raw.receivedAt, uplink: raw.id, windowLength: windowLength)
        }
        return .event(type: type, device: device, readings: rows)
    }

    private func dataUplink(_ uplink: EnvelopeUplink, raw: RawUplink, envelope: EnvelopeKind, diagnostics: inout Diagnostics) -> ProcessedOutcome {
        diagnostics.deduplicationID = uplink.deduplicationID
        let frameTime = DeviceTime.windowTime(network: uplink.networkTime, received: raw.receivedAt, maxSkewMillis: maxClockSkewMillis)
        diagnostics.clockSkewed = frameTime.skewed
        var facts = FrameFacts(envelope: envelope.rawValue, device: uplink.device, fCnt: uplink.fCnt,
                               fPort: uplink.fPort, networkTime: uplink.networkTime,
                               payloadFingerprint: uplink.fCnt == nil ? FNV1a.hash(uplink.payload) : nil)
        guard let (device, listed) = registry.resolved(uplink.device, deviceProfile: uplink.deviceProfileName, topic: raw.topic) else {
            return .quarantined(device: uplink.device, facts: facts, reason: .unknownDevice,
                                detail: "device \(uplink.device) is not in the device registry and no codec rule matches")
        }
        diagnostics.kind = device.kind
        diagnostics.codecID = device.codecID
        if !listed {
            facts.ruleKind = device.kind
            facts.ruleZone = device.rollupGroup
        }
        if uplink.fPort == 0 || (uplink.payload.isEmpty && uplink.fPort == nil) {
            return .ignored(facts, reason: "MAC-only frame (fPort 0), nothing to decode")
        }
        switch decodePayload(uplink.payload, fPort: uplink.fPort, device: device) {
        case let .failure(rejection):
            return .quarantined(device: device.id, facts: facts, reason: rejection.reason, detail: rejection.detail)
        case let .success(decoded):
            diagnostics.notes = decoded.notes
            diagnostics.sentinels = decoded.sentinels
            var rows: [ReadingRow] = []
            rows.reserveCapacity(decoded.values.count)
            let windowLength = windowLength(of: device.kind)
            for value in decoded.values {
                if let time = value.time, !DeviceTime.isBelievable(time, received: raw.receivedAt, maxSkewMillis: maxClockSkewMillis,
                                                                      maxBackfillMillis: maxBackfillMillis) {
                    diagnostics.deviceTimesSetAside += 1
                    continue
                }
                rows.append(readingRow(for: value, of: device, at: frameTime.time, uplink: raw.id, windowLength: windowLength))
            }
            return .decoded(facts, rows)
        }
    }

    /// The device's codec over one payload, its derived values, and the
    /// plausibility check over all of them.
    public func decodePayload(_ payload: [UInt8], fPort: Int?, device: Device) -> Result<DecodedPayload, Rejection> {
        guard let codec = catalog.codec(device.codecID) else {
            return .failure(Rejection(reason: .unknownCodec, detail: "codec '\(device.codecID)' is not available"))
        }
        let result: DecodeResult
        do {
            result = try codec.decode(payload, fPort: fPort)
        } catch {
            return .failure(Rejection(reason: error.category, detail: "\(codec.id): \(error)"))
        }
        let context = DerivedValues.Context(kind: device.kind, binDepthMillimetres: device.binDepthMillimetres,
                                            sensorOffsetMillimetres: device.sensorOffsetMillimetres)
        let values = result.values + DerivedValues.derive(result.values, context: context)
        if let implausible = values.first(where: { !Plausibility.isPlausible($0) }) {
            return .failure(Rejection(reason: .implausible, detail: "\(codec.id): \(Plausibility.describe(implausible))"))
        }
        return .success(DecodedPayload(values: values, notes: result.notes, sentinels: result.sentinels))
    }

    /// A value tied to its device and uplink, in the window of its kind:
    /// the value's own time (history records), else the frame's.
    /// `windowLength`: the device's kind's (`windowLength(of:)`), looked up
    /// once per uplink rather than once per reading.
    private func readingRow(for value: DecodedValue, of device: Device, at frameTime: EpochMillis, uplink id: Int64,
                            windowLength length: Int64) -> ReadingRow {
        let time = value.time ?? frameTime
        let reading = Reading(uplinkID: id, device: device.id, metric: value.metric, channel: value.channel, time: time, value: value.value)
        return ReadingRow(reading: reading, windowLength: length, windowStart: Window.containing(time, length: length).start)
    }

    private func windowLength(of kind: SensorKind) -> Int64 { windows[kind] ?? Self.defaultWindowMillis }
}
