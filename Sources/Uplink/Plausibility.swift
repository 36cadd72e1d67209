import Readings

/// The physical plausibility rule: a decoded or derived value outside its
/// metric's plausible range (the sensor's limits, widened a little) is
/// garbage, and its uplink is quarantined rather than stored.
public enum Plausibility {
    public static func isPlausible(_ value: DecodedValue) -> Bool { value.metric.plausible.contains(value.value) }

    /// The quarantine detail for an implausible value.
    public static func describe(_ value: DecodedValue) -> String {
        let metric = value.metric
        let range = metric.plausible
        let channel = value.channel.map { " channel \($0)" } ?? ""
        return "\(metric.name)\(channel) = \(value.decimalText) \(metric.unitSymbol) is outside the plausible range "
            + "\(FixedPoint.decimalString(range.lowerBound, decimals: metric.decimals))...\(FixedPoint.decimalString(range.upperBound, decimals: metric.decimals))"
    }
}
