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

    /// Whether a time a device wrote into its payload (a history record's)
    /// is believable: no further ahead of the arrival than `maxSkewMillis`
    /// (a clock in 2106 would open a window that never closes) and no older
    /// than `maxBackfillMillis` (an RTC reset to 1970 would publish windows
    /// of 1970). Untrusted: taken with overflow reporting.
    public static func isBelievable(_ time: EpochMillis, received: EpochMillis, maxSkewMillis: Int64, maxBackfillMillis: Int64) -> Bool {
        let (ahead, overflow) = time.subtractingReportingOverflow(received)
        if overflow { return false }
        return ahead <= maxSkewMillis && ahead >= -maxBackfillMillis
    }
}
