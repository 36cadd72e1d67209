import Codecs
import Foundation
import Readings
import TOML
import Uplink

/// Reads the device registry (`devices.toml`): `[[device]]` tables,
/// `[[codec_rule]]` tables for devices not listed one by one, and `[[zone]]`
/// tables that place a zone (for devices without coordinates of their own).
enum DeviceRegistryFile {
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
        var zones: [String: (longitude: Int64, latitude: Int64)] = [:]
        for file in files {
            let part = loadFile(path: (path as NSString).appendingPathComponent(file), catalog: catalog, issues: issues, seen: &seen)
            devices += part.devices.values.sorted { $0.id < $1.id }
            rules += part.rules
            for (zone, point) in part.zonePoints {
                if zones[zone] != nil {
                    issues.errors.append(ConfigError(file: (path as NSString).appendingPathComponent(file), key: "zone", line: nil,
                                                     reason: "zone '\(zone)' is placed twice in the registry directory"))
                }
                zones[zone] = point
            }
        }
        return DeviceRegistry(devices: devices, rules: rules, zonePoints: zones)
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
                if !DeviceRegistry.isValidID(id) { entry.fail("id", "'\(rawID)' is not a DevEUI, IMEI or device id") }
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
        var zones: [String: (longitude: Int64, latitude: Int64)] = [:]
        for var entry in root.tables("zone") {
            let name = entry.string("name")
            let longitude = entry.decimal("longitude", decimals: 7, in: -180_0000000...180_0000000)
            let latitude = entry.decimal("latitude", decimals: 7, in: -90_0000000...90_0000000)
            if name == nil { entry.fail("name", "required: the zone devices name in their zone key") }
            if longitude == nil && entry.table["longitude"] == nil { entry.fail("longitude", "required") }
            if latitude == nil && entry.table["latitude"] == nil { entry.fail("latitude", "required") }
            if let name, zones[name] != nil { entry.fail("name", "zone '\(name)' is placed twice") }
            if let name, let longitude, let latitude { zones[name] = (longitude, latitude) }
            entry.finish()
        }
        root.finish()
        return DeviceRegistry(devices: devices, rules: rules, zonePoints: zones)
    }
}
