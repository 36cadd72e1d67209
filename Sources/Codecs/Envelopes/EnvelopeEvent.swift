import Readings

/// Which network server format a message arrived in.
public enum EnvelopeKind: String, Sendable, CaseIterable {
    case chirpstack
    case tts
    case nbiot
}

/// One LoRaWAN/NB-IoT uplink as the envelope stage sees it: who sent it, the
/// frame counter and port, the raw application payload and the network's time.
public struct EnvelopeUplink: Sendable, Equatable {
    public var envelope: EnvelopeKind
    public var device: DeviceID
    public var fCnt: UInt32?
    public var fPort: Int?
    public var payload: [UInt8]
    /// The network server's receive time, when it gave one.
    public var networkTime: EpochMillis?
    /// ChirpStack's id of the deduplicated frame, kept for tracing.
    public var deduplicationID: String?
    /// ChirpStack `deviceInfo.deviceProfileName`: may name the codec.
    public var deviceProfileName: String?
    /// How many gateways heard the frame, and the best RSSI among them.
    public var gatewayCount: Int
    public var bestRSSI: Int?

    public init(envelope: EnvelopeKind, device: DeviceID, fCnt: UInt32? = nil, fPort: Int? = nil, payload: [UInt8],
                networkTime: EpochMillis? = nil, deduplicationID: String? = nil, deviceProfileName: String? = nil,
                gatewayCount: Int = 0, bestRSSI: Int? = nil) {
        self.envelope = envelope
        self.device = device
        self.fCnt = fCnt
        self.fPort = fPort
        self.payload = payload
        self.networkTime = networkTime
        self.deduplicationID = deduplicationID
        self.deviceProfileName = deviceProfileName
        self.gatewayCount = gatewayCount
        self.bestRSSI = bestRSSI
    }
}

/// What one MQTT message turned out to be.
public enum EnvelopeEvent: Sendable, Equatable {
    /// A data uplink to decode.
    case uplink(EnvelopeUplink)
    /// A network-server event that is not an uplink (join, status, log, ack,
    /// ...): recognised and counted, never quarantined as garbage. `values`
    /// holds what is worth recording (a status event's battery level).
    case event(type: String, device: DeviceID?, values: [DecodedValue] = [])

    /// The device the event is about, when it names one.
    public var device: DeviceID? {
        switch self {
        case let .uplink(uplink): return uplink.device
        case let .event(_, device, _): return device
        }
    }
}

/// The network-server event types the gateway names in metrics
/// (`citygate_network_events_total{type}`). The type comes from the topic,
/// which any client allowed to publish can choose: every other value is
/// counted as `other`, so input cannot create new series.
public enum NetworkEventType {
    /// ChirpStack v4 (`application/…/event/{type}`) and The Things Stack v3
    /// (`v3/…/devices/{id}/{type}`) event types, and the pipeline's `unknown`.
    public static let named: Set<String> = [
        "status", "join", "ack", "txack", "log", "location", "integration",
        "down/queued", "down/sent", "down/ack", "down/nack", "down/failed", "service/data", "location/solved",
        "unknown",
    ]

    /// The metric label for an event type: itself when named, else `other`.
    public static func metricLabel(_ type: String) -> String { named.contains(type) ? type : "other" }
}

/// Why a message is not a usable envelope. The description is the
/// quarantine reason.
public enum EnvelopeError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformedJSON(String)
    case missingField(String)
    case invalidField(String, String)
    case topicMismatch(String)
    /// The topic's device is not the message's (see `EnvelopeKind.parser`).
    case deviceMismatch(String)

    public var description: String {
        switch self {
        case let .malformedJSON(detail): return "malformed JSON: \(detail)"
        case let .missingField(field): return "missing field \(field)"
        case let .invalidField(field, detail): return "invalid field \(field): \(detail)"
        case let .topicMismatch(detail): return "topic mismatch: \(detail)"
        case let .deviceMismatch(detail): return "device mismatch: \(detail)"
        }
    }

    public var category: QuarantineReason {
        switch self {
        case .malformedJSON: return .malformedJSON
        case .missingField, .invalidField: return .invalidEnvelope
        case .topicMismatch: return .topicMismatch
        case .deviceMismatch: return .deviceMismatch
        }
    }
}

/// An envelope parser: topic and message bytes in, an event out. Pure.
public protocol EnvelopeParser: Sendable {
    var kind: EnvelopeKind { get }
    func parse(topic: String, message: [UInt8]) throws(EnvelopeError) -> EnvelopeEvent
}

extension EnvelopeKind {
    /// The parser for this envelope. A message whose body names another
    /// device than its topic is refused (`deviceMismatch`): the broker's ACLs
    /// are per topic, so the topic is what a publisher was allowed to write.
    /// `trustFrameIdentity`: the body's device wins and the topic's is not
    /// checked (a bridge that republishes every device under one topic).
    public func parser(trustFrameIdentity: Bool = false) -> any EnvelopeParser {
        switch self {
        case .chirpstack: return ChirpStackEnvelope(trustFrameIdentity: trustFrameIdentity)
        case .tts: return TTSEnvelope(trustFrameIdentity: trustFrameIdentity)
        case .nbiot: return NBIoTEnvelope(trustFrameIdentity: trustFrameIdentity)
        }
    }
}
