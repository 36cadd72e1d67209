import Aggregation
import Codecs
import MQTT
import Foundation
import Readings
import TOML

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
}

/// The device registry (`devices.toml`): `[[device]]` tables, then
/// `[[codec_rule]]` tables for devices not listed.
public struct DeviceRegistry: Sendable {
    public private(set) var devices: [DeviceID: Device]
    public private(set) var rules: [CodecRule]

    /// Per roll-up group: the mean position of its located devices, in 10^-7 degrees.
    private var centroids: [String: (longitude: Int64, latitude: Int64)] = [:]

    public init(devices: [Device], rules: [CodecRule] = []) {
        self.devices = Dictionary(devices.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.rules = rules
        var sums: [String: (longitude: Int64, latitude: Int64, count: Int64)] = [:]
        for device in self.devices.values {
            guard let group = device.rollupGroup, let longitude = device.longitude, let latitude = device.latitude else { continue }
            let sum = sums[group] ?? (0, 0, 0)
            // |coordinate| ≤ 1.8e9 per device: a sum overflows only past ~5e9 devices.
            sums[group] = (sum.longitude + longitude, sum.latitude + latitude, sum.count + 1)
        }
        centroids = sums.mapValues { sum in
            (FixedPoint.divideRounded(sum.longitude, by: sum.count) ?? 0, FixedPoint.divideRounded(sum.latitude, by: sum.count) ?? 0)
        }
    }

    /// Where a zone roll-up is drawn: the centroid of its located devices.
    public func centroid(of group: String) -> (longitude: String, latitude: String)? {
        guard let point = centroids[group] else { return nil }
        return (FixedPoint.decimalString(point.longitude, decimals: 7), FixedPoint.decimalString(point.latitude, decimals: 7))
    }

    public func device(_ id: DeviceID) -> Device? { devices[id] }

    /// The listed device, or one made from the first matching rule.
    public func resolve(_ id: DeviceID, deviceProfile: String?, topic: String) -> Device? {
        if let device = devices[id] { return device }
        for rule in rules {
            if let profile = rule.deviceProfile, profile != deviceProfile { continue }
            if let filter = rule.topic, !filter.matches(topic) { continue }
            return Device(id: id, name: nil, codecID: rule.codecID, kind: rule.kind, zone: rule.zone)
        }
        return nil
    }
    public var count: Int { devices.count }

    /// A device id is a DevEUI (16 hex digits), an IMEI (15 digits) or another
    /// lowercase network-server id (`eui-…`, `[a-z0-9._-]`).
    static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64 && id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 46 || $0 == 95 }
    }

    /// Loads `devices.toml`, or every `*.toml` in a directory (in name
    /// order; a city keeps one file per district or per supplier). A device
    /// listed twice, in one file or across files, is an error.
    static func load(path: String, catalog: CodecCatalog, issues: ConfigIssues) -> DeviceRegistry {
        var seen: [String: String] = [:]
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return loadFile(path: path, catalog: catalog, issues: issues, seen: &seen)
        }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".toml") }.sorted()
        if files.isEmpty {
            issues.errors.append(ConfigError(file: path, key: "", line: nil, reason: "the device registry directory holds no .toml file"))
        }
        var devices: [Device] = []
        var rules: [CodecRule] = []
        for file in files {
            let part = loadFile(path: (path as NSString).appendingPathComponent(file), catalog: catalog, issues: issues, seen: &seen)
            devices += part.devices.values.sorted { $0.id < $1.id }
            rules += part.rules
        }
        return DeviceRegistry(devices: devices, rules: rules)
    }

    static func loadFile(path: String, catalog: CodecCatalog, issues: ConfigIssues, seen: inout [String: String]) -> DeviceRegistry {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            issues.errors.append(ConfigError(file: path, key: "", line: nil, reason: "cannot read the device registry"))
            return DeviceRegistry(devices: [])
        }
        let document: TOMLTable
        do {
            document = try TOMLParser.parse(text)
        } catch {
            issues.errors.append(ConfigError(file: path, key: "", line: error.line, reason: "syntax: \(error.message) (column \(error.column))"))
            return DeviceRegistry(devices: [])
        }
        var root = TableReader(table: document, path: "", file: path, issues: issues)
        var devices: [Device] = []
        for var entry in root.tables("device") {
            let rawID = entry.string("id")
            let codec = entry.string("codec")
            let kind = entry.string("kind", oneOf: SensorKind.allCases.map(\.rawValue)).flatMap(SensorKind.init(rawValue:))
            let name = entry.string("name")
            let zone = entry.string("zone")
            let station = entry.string("station")
            let interval = entry.duration("interval", in: 1000...30 * 86_400_000)
            let longitude = entry.decimal("longitude", decimals: 7, in: -180_0000000...180_0000000)
            let latitude = entry.decimal("latitude", decimals: 7, in: -90_0000000...90_0000000)
            let binDepth = entry.integer("bin_depth_mm", in: 1...10_000)
            let sensorOffset = entry.integer("sensor_offset_mm", in: 0...10_000) ?? 0
            if (longitude == nil) != (latitude == nil) && (entry.table["longitude"] == nil) != (entry.table["latitude"] == nil) {
                entry.fail(entry.table["longitude"] == nil ? "longitude" : "latitude", "longitude and latitude go together")
            }
            if rawID == nil { entry.fail("id", "required") }
            if codec == nil { entry.fail("codec", "required") }
            if kind == nil && entry.table["kind"] == nil { entry.fail("kind", "required (\(SensorKind.allCases.map(\.rawValue).joined(separator: ", ")))") }
            if let codec, catalog.codec(codec) == nil { entry.fail("codec", "unknown codec '\(codec)'") }
            if let rawID {
                let id = rawID.lowercased()
                if !isValidID(id) { entry.fail("id", "'\(rawID)' is not a DevEUI, IMEI or device id") }
                else if let first = seen[id] {
                    entry.fail("id", first == path ? "device \(id) is listed twice" : "device \(id) is listed twice (also in \(first))")
                } else {
                    seen[id] = path
                    if let codec, catalog.codec(codec) != nil, let kind {
                        devices.append(Device(id: id, name: name, codecID: codec, kind: kind, zone: zone, longitude: longitude, latitude: latitude,
                                              binDepthMillimetres: binDepth, sensorOffsetMillimetres: sensorOffset, station: station,
                                              reportingIntervalMillis: interval))
                    }
                }
            }
            entry.finish()
        }
        var rules: [CodecRule] = []
        for var entry in root.tables("codec_rule") {
            let profile = entry.string("device_profile")
            let topic = entry.string("topic")
            let codec = entry.string("codec")
            let kind = entry.string("kind", oneOf: SensorKind.allCases.map(\.rawValue)).flatMap(SensorKind.init(rawValue:))
            let zone = entry.string("zone")
            if profile == nil && topic == nil { entry.fail("device_profile", "a rule needs device_profile or topic") }
            if codec == nil { entry.fail("codec", "required") }
            if kind == nil && entry.table["kind"] == nil { entry.fail("kind", "required") }
            if let codec, catalog.codec(codec) == nil { entry.fail("codec", "unknown codec '\(codec)'") }
            var filter: TopicFilter?
            if let topic {
                filter = TopicFilter(topic)
                if filter == nil { entry.fail("topic", "'\(topic)' is not a valid MQTT topic filter") }
            }
            if let codec, catalog.codec(codec) != nil, let kind, (topic == nil || filter != nil) {
                rules.append(CodecRule(deviceProfile: profile, topic: filter, codecID: codec, kind: kind, zone: zone))
            }
            entry.finish()
        }
        root.finish()
        return DeviceRegistry(devices: devices, rules: rules)
    }
}

/// Devices that stopped reporting: silent for longer than `multiple` times
/// their reporting interval (the registry's `interval`, else their kind's
/// window length). Devices never seen are listed apart: a new installation
/// has many, and they are not an alarm.
public enum SilentDevices {
    public struct Entry: Sendable, Equatable {
        public var device: DeviceID
        public var lastSeen: EpochMillis
        public var expectedIntervalMillis: Int64
    }

    public static func find(registry: DeviceRegistry, windows: [SensorKind: Int64], lastSeen: [DeviceID: EpochMillis],
                            now: EpochMillis, multiple: Int) -> (silent: [Entry], neverSeen: [DeviceID]) {
        guard multiple > 0 else { return ([], []) }
        var silent: [Entry] = []
        var neverSeen: [DeviceID] = []
        for device in registry.devices.values {
            guard let seen = lastSeen[device.id] else { neverSeen.append(device.id); continue }
            let interval = device.reportingIntervalMillis ?? windows[device.kind] ?? 900_000
            let (limit, overflow) = interval.multipliedReportingOverflow(by: Int64(multiple))
            if !overflow, now - seen > limit { silent.append(Entry(device: device.id, lastSeen: seen, expectedIntervalMillis: interval)) }
        }
        return (silent.sorted { $0.lastSeen < $1.lastSeen }, neverSeen.sorted())
    }
}
