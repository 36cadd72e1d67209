import Codecs

/// One `[[mqtt.subscription]]`: the topics it covers and the envelope their
/// messages come in. The first subscription whose filter matches a topic
/// routes the message.
public struct Subscription: Sendable, Equatable {
    public var filter: TopicFilter
    public var envelope: EnvelopeKind
    /// `trust_frame_identity`: take the device the message names even when
    /// the topic names another (see `EnvelopeKind.parser`). Off by default.
    public var trustFrameIdentity: Bool

    public init(filter: TopicFilter, envelope: EnvelopeKind, trustFrameIdentity: Bool = false) {
        self.filter = filter
        self.envelope = envelope
        self.trustFrameIdentity = trustFrameIdentity
    }

    /// ChirpStack v4 and The Things Stack v3, on their default topics.
    public static let defaults = [
        Subscription(filter: TopicFilter("application/+/device/+/event/+")!, envelope: .chirpstack),
        Subscription(filter: TopicFilter("v3/+/devices/+/up")!, envelope: .tts),
    ]
}
