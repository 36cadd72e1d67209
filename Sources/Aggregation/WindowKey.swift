import Readings

/// The deterministic id of an aggregate: source, metric (with channel),
/// window start and length. A re-send after a crash carries the same key, so
/// the hub updates instead of duplicating.
public enum WindowKey {
    public static func make(source: DeviceID, metric: String, channel: Int?, start: EpochMillis, length: Int64) -> String {
        let series = channel.map { "\(metric).\($0)" } ?? metric
        return "\(source)/\(series)/\(RFC3339.format(start))/\(Window.isoDuration(length))"
    }
}
