/// Why an uplink was quarantined: the `reason` label of
/// `citygate_uplinks_quarantined_total`, the `category` column of the
/// quarantine table and what `citygate requeue --reason` takes. A closed set,
/// so metrics keep a bounded number of series and a typo in `--reason` is
/// refused instead of matching nothing.
public enum QuarantineReason: String, Sendable, CaseIterable, Equatable {
    // The MQTT message itself: larger than `[mqtt] max_payload_bytes` (kept
    // as its length, SHA-256 and first 4 KiB; quarantined at ingest).
    case oversized
    // Routing and envelope.
    case noRoute = "no_route"
    case malformedJSON = "malformed_json"
    case invalidEnvelope = "invalid_envelope"
    case topicMismatch = "topic_mismatch"
    /// The topic names one device and the message another: a publisher
    /// allowed to write for one device would be writing for any other.
    case deviceMismatch = "device_mismatch"
    // The device and its codec.
    case unknownDevice = "unknown_device"
    case unknownCodec = "unknown_codec"
    // The payload.
    case truncated
    case unsupportedPort = "unsupported_port"
    case invalidPayload = "invalid_payload"
    case overflow
    case emptyPayload = "empty_payload"
    // The decoded values.
    case implausible
    /// The gateway stopped twice while decoding this message (a decoder that
    /// traps on it, see `DecodeGuard`): kept with its bytes, not decoded
    /// again until `citygate requeue` asks for it.
    case decoderCrash = "decoder_crash"
}
