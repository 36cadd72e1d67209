/// A device as the gateway names it: a LoRaWAN DevEUI in lowercase hex, or an
/// NB-IoT IMEI/serial.
public typealias DeviceID = String

/// Milliseconds since the Unix epoch, UTC. Integer, like every other value.
public typealias EpochMillis = Int64

/// One decoded value, before it is tied to a device and a time.
///
/// `channel` tells apart two sensors of one metric on one device (the LHT65's
/// internal SHT and its external probe, Cayenne channels). `time` is set only
/// when the payload carries its own timestamp (history records).
public struct DecodedValue: Sendable, Hashable {
    public var metric: Metric
    public var channel: Int?
    public var value: Int64
    public var time: EpochMillis?

    public init(metric: Metric, channel: Int? = nil, value: Int64, time: EpochMillis? = nil) {
        self.metric = metric
        self.channel = channel
        self.value = value
        self.time = time
    }

    /// The value as an exact decimal string in the metric's unit.
    public var decimalText: String { FixedPoint.decimalString(value, decimals: metric.decimals) }
}

/// A stored reading: (device, metric, channel, time, value), tied to the
/// uplink it came from so an operator can trace it.
public struct Reading: Sendable, Hashable {
    public var uplinkID: Int64
    public var device: DeviceID
    public var metric: Metric
    public var channel: Int?
    public var time: EpochMillis
    public var value: Int64

    public init(uplinkID: Int64, device: DeviceID, metric: Metric, channel: Int?, time: EpochMillis, value: Int64) {
        self.uplinkID = uplinkID
        self.device = device
        self.metric = metric
        self.channel = channel
        self.time = time
        self.value = value
    }
}

/// The kinds of sensor a city deploys; windows and hub models follow the kind.
public enum SensorKind: String, Sendable, CaseIterable, Codable {
    case airQuality = "air_quality"
    case wasteBin = "waste_bin"
    case parking = "parking"
    case damp = "damp"
    case generic = "generic"
}
