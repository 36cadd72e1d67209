import Readings
import Testing

/// The quarantine reasons are labels operators alert on
/// (`citygate_uplinks_quarantined_total{reason}`) and values stored in the
/// quarantine table: renaming one breaks dashboards and `requeue --reason`.
@Suite struct QuarantineReasonTests {
    @Test func theLabelsStayAsReleased() {
        #expect(QuarantineReason.allCases.map(\.rawValue) == [
            "oversized", "no_route", "malformed_json", "invalid_envelope", "topic_mismatch", "device_mismatch", "unknown_device", "unknown_codec",
            "truncated", "unsupported_port", "invalid_payload", "overflow", "empty_payload", "implausible", "decoder_crash",
        ])
    }
}
