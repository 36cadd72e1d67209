import Aggregation
import Readings

/// One registered device: what it is, how to decode it, where it is.
public struct Device: Sendable, Equatable {
    public var id: DeviceID
    public var name: String?
    public var codecID: String
    public var kind: SensorKind
    public var zone: String?
    /// WGS84, in 10^-7 degrees (exact; about 1 cm).
    public var longitude: Int64?
    public var latitude: Int64?
    /// Waste bins: depth from rim to bottom and sensor height above the rim, mm.
    public var binDepthMillimetres: Int64?
    public var sensorOffsetMillimetres: Int64 = 0
    /// Air quality: the monitoring station the sensor belongs to (several
    /// sensors, one station). Its roll-up groups by station, else by zone.
    public var station: String?
    /// How often the device reports, when the registry says (`interval = "10m"`).
    public var reportingIntervalMillis: Int64?

    public init(id: DeviceID, name: String? = nil, codecID: String, kind: SensorKind, zone: String? = nil, longitude: Int64? = nil,
                latitude: Int64? = nil, binDepthMillimetres: Int64? = nil, sensorOffsetMillimetres: Int64 = 0, station: String? = nil,
                reportingIntervalMillis: Int64? = nil) {
        self.id = id
        self.name = name
        self.codecID = codecID
        self.kind = kind
        self.zone = zone
        self.longitude = longitude
        self.latitude = latitude
        self.binDepthMillimetres = binDepthMillimetres
        self.sensorOffsetMillimetres = sensorOffsetMillimetres
        self.station = station
        self.reportingIntervalMillis = reportingIntervalMillis
    }

    /// The zone roll-up group this device's windows count towards.
    public var rollupGroup: String? { ZoneRollup.group(kind: kind, zone: zone, station: station) }

    public var locationText: (longitude: String, latitude: String)? {
        guard let longitude, let latitude else { return nil }
        return (FixedPoint.decimalString(longitude, decimals: 7), FixedPoint.decimalString(latitude, decimals: 7))
    }
}

/// Names the codec for devices not listed one by one (a city has
/// thousands): by ChirpStack `deviceInfo.deviceProfileName` or by topic.
public struct CodecRule: Sendable, Equatable {
    public var deviceProfile: String?
    public var topic: TopicFilter?
    public var codecID: String
    public var kind: SensorKind
    public var zone: String?

    public init(deviceProfile: String? = nil, topic: TopicFilter? = nil, codecID: String, kind: SensorKind, zone: String? = nil) {
        self.deviceProfile = deviceProfile
        self.topic = topic
        self.codecID = codecID
        self.kind = kind
        self.zone = zone
    }
}

/// The device registry (`devices.toml`): `[[device]]` tables, then
/// `[[codec_rule]]` tables for devices not listed.
public struct DeviceRegistry: Sendable {
    /// The listed devices, stored compactly (see `RegisteredDevices`).
    public private(set) var devices: RegisteredDevices
    public private(set) var rules: [CodecRule]
    /// `[[zone]]` points an operator gave (10^-7 degrees), by zone name.
    public private(set) var zonePoints: [String: (longitude: Int64, latitude: Int64)]

    /// Per roll-up group: the mean position of its located devices, in 10^-7 degrees.
    private var centroids: [String: (longitude: Int64, latitude: Int64)] = [:]
    /// Per zone: the mean position of its located devices, whatever their kind.
    private var zoneCentroids: [String: (longitude: Int64, latitude: Int64)] = [:]

    public init(devices: [Device], rules: [CodecRule] = [], zonePoints: [String: (longitude: Int64, latitude: Int64)] = [:]) {
        var stored = RegisteredDevices(capacity: devices.count)
        for device in devices { _ = stored.insert(device) }
        self.init(devices: stored, rules: rules, zonePoints: zonePoints)
    }

    /// From devices already stored (a registry file read table by table).
    public init(devices: RegisteredDevices, rules: [CodecRule] = [], zonePoints: [String: (longitude: Int64, latitude: Int64)] = [:]) {
        self.devices = devices
        self.rules = rules
        self.zonePoints = zonePoints
        var groupSums: [String: (longitude: Int64, latitude: Int64, count: Int64)] = [:]
        var zoneSums: [String: (longitude: Int64, latitude: Int64, count: Int64)] = [:]
        func add(_ key: String, _ longitude: Int64, _ latitude: Int64, to sums: inout [String: (longitude: Int64, latitude: Int64, count: Int64)]) {
            let sum = sums[key] ?? (0, 0, 0)
            // |coordinate| ≤ 1.8e9 per device: a sum overflows only past ~5e9 devices.
            sums[key] = (sum.longitude + longitude, sum.latitude + latitude, sum.count + 1)
        }
        for device in devices.values {
            guard let longitude = device.longitude, let latitude = device.latitude else { continue }
            if let group = device.rollupGroup { add(group, longitude, latitude, to: &groupSums) }
            if let zone = device.zone { add(zone, longitude, latitude, to: &zoneSums) }
        }
        func mean(_ sum: (longitude: Int64, latitude: Int64, count: Int64)) -> (longitude: Int64, latitude: Int64) {
            (FixedPoint.divideRounded(sum.longitude, by: sum.count) ?? 0, FixedPoint.divideRounded(sum.latitude, by: sum.count) ?? 0)
        }
        centroids = groupSums.mapValues(mean)
        zoneCentroids = zoneSums.mapValues(mean)
    }

    static func text(_ point: (longitude: Int64, latitude: Int64)) -> (longitude: String, latitude: String) {
        (FixedPoint.decimalString(point.longitude, decimals: 7), FixedPoint.decimalString(point.latitude, decimals: 7))
    }

    /// Where a zone roll-up is drawn: the centroid of its located devices.
    public func centroid(of group: String) -> (longitude: String, latitude: String)? {
        centroids[group].map(Self.text)
    }

    /// Where a zone is: the point its `[[zone]]` gives, else the centroid of
    /// its located devices (any kind). A device without coordinates is
    /// placed here for hubs that need a position for every observation.
    public func location(ofZone zone: String) -> (longitude: String, latitude: String)? {
        (zonePoints[zone] ?? zoneCentroids[zone]).map(Self.text)
    }

    public func device(_ id: DeviceID) -> Device? { devices[id] }

    /// The listed device, or one made from the first matching rule.
    public func resolve(_ id: DeviceID, deviceProfile: String?, topic: String) -> Device? {
        resolved(id, deviceProfile: deviceProfile, topic: topic)?.device
    }

    /// The same, and whether the device is listed (false: made from a rule),
    /// from one lookup of the id.
    public func resolved(_ id: DeviceID, deviceProfile: String?, topic: String) -> (device: Device, listed: Bool)? {
        if let device = devices[id] { return (device, true) }
        for rule in rules {
            if let profile = rule.deviceProfile, profile != deviceProfile { continue }
            if let filter = rule.topic, !filter.matches(topic) { continue }
            return (Device(id: id, name: nil, codecID: rule.codecID, kind: rule.kind, zone: rule.zone), false)
        }
        return nil
    }
    public var count: Int { devices.count }

    /// A device id is a DevEUI (16 hex digits), an IMEI (15 digits) or another
    /// lowercase network-server id (`eui-…`, `[a-z0-9._-]`).
    public static func isValidID(_ id: String) -> Bool {
        DeviceIdentity.problem(with: id) == nil
    }
}
