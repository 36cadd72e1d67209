import Readings

/// Which clock places a frame in its window.
public enum DeviceTime {
    /// The device/network time when it is within `maxSkewMillis` of the
    /// gateway's receive time, else the receive time (`skewed`). Untrusted:
    /// the difference is taken with overflow reporting.
    public static func windowTime(network: EpochMillis?, received: EpochMillis, maxSkewMillis: Int64) -> (time: EpochMillis, skewed: Bool) {
        guard let network else { return (received, false) }
        let (difference, overflow) = network.subtractingReportingOverflow(received)
        if overflow || difference.magnitude > UInt64(max(maxSkewMillis, 0)) { return (received, true) }
        return (network, false)
    }
}
