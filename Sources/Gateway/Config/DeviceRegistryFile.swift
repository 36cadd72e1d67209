import Codecs
import FoundationEssentials
import Glibc
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
        var isDirectory = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory else {
            var devices = RegisteredDevices()
            let part = loadFile(path: path, catalog: catalog, issues: issues, into: &devices, owners: nil)
            return DeviceRegistry(devices: devices, rules: part.rules, zonePoints: part.zones)
        }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".toml") }.sorted()
        if files.isEmpty {
            issues.errors.append(ConfigError(file: path, key: "", line: nil, reason: "the device registry directory holds no .toml file"))
        }
        var devices = RegisteredDevices()
        let paths = files.map { PathText.join(path, $0) }
        let listing = DirectoryListing(files: paths)
        var rules: [CodecRule] = []
        var zones: [String: (longitude: Int64, latitude: Int64)] = [:]
        for file in paths {
            let part = loadFile(path: file, catalog: catalog, issues: issues, into: &devices, owners: listing)
            rules += part.rules
            for (zone, point) in part.zones {
                if zones[zone] != nil {
                    issues.errors.append(ConfigError(file: file, key: "zone", line: nil, reason: "zone '\(zone)' is placed twice in the registry directory"))
                }
                zones[zone] = point
            }
        }
        return DeviceRegistry(devices: devices, rules: rules, zonePoints: zones)
    }

    /// The file's bytes, if it is readable, at most `TOMLParser.maxBytes`
    /// long (the parser's limit, checked before a hostile file is read), and UTF-8.
    static func bytes(of path: String, issues: ConfigIssues) -> [UInt8]? {
        guard let file = fopen(path, "rb") else {
            issues.errors.append(ConfigError(file: path, key: "", line: nil, reason: "cannot read the device registry"))
            return nil
        }
        defer { fclose(file) }
        var size: Int64 = 0
        var info = stat()
        if fstat(fileno(file), &info) == 0 { size = Int64(info.st_size) }
        guard size <= Int64(TOMLParser.maxBytes) else {
            issues.errors.append(ConfigError(file: path, key: "", line: nil, reason: "the file is \(size) bytes; at most \(TOMLParser.maxBytes) are read"))
            return nil
        }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        let read = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        guard read == bytes.count, ferror(file) == 0 else {
            issues.errors.append(ConfigError(file: path, key: "", line: nil, reason: "cannot read the device registry"))
            return nil
        }
        guard TOMLParser.isUTF8(bytes) else {
            issues.errors.append(ConfigError(file: path, key: "", line: nil, reason: "cannot read the device registry: it is not UTF-8 text"))
            return nil
        }
        return bytes
    }

    /// A registry directory's files, and which of them listed each device,
    /// so a device listed again in a later file names the first.
    final class DirectoryListing {
        let files: [String]
        var owner: [DeviceID: Int] = [:]
        init(files: [String]) { self.files = files }
    }

    /// Reads one registry file: its devices go into `devices` as each
    /// `[[device]]` table is parsed (no tree of 100,000 tables is built);
    /// its rules and zone points are returned. `owners` (a directory's
    /// files, and which of them listed each device) names the first file of
    /// a device listed twice across files.
    static func loadFile(path: String, catalog: CodecCatalog, issues: ConfigIssues, into devices: inout RegisteredDevices,
                         owners: DirectoryListing?) -> (rules: [CodecRule], zones: [String: (longitude: Int64, latitude: Int64)]) {
        guard let bytes = bytes(of: path, issues: issues) else { return ([], [:]) }
        let fileIndex = owners?.files.firstIndex(of: path) ?? 0
        devices.reserve(headerCount(bytes, "[[device]]"))
        let document: TOMLTable
        do {
            document = try TOMLParser.parse(bytes: bytes, streaming: ["device"]) { _, position, table in
                var entry = TableReader(table: table, path: "device[\(position)]", file: path, issues: issues)
                if let device = readDevice(&entry, catalog: catalog) {
                    if devices.contains(device.id) {
                        let first = owners.flatMap { listing in listing.owner[device.id].map { listing.files[$0] } } ?? path
                        entry.fail("id", first == path ? "device \(device.id) is listed twice" : "device \(device.id) is listed twice (also in \(first))")
                    } else if devices.insert(device) {
                        owners?.owner[device.id] = fileIndex
                    } else {
                        entry.fail("id", "device \(device.id) has values the registry cannot store")
                    }
                }
                entry.finish()
            }
        } catch {
            issues.errors.append(ConfigError(file: path, key: "", line: error.line, reason: "syntax: \(error.message) (column \(error.column))"))
            return ([], [:])
        }
        var root = TableReader(table: document, path: "", file: path, issues: issues)
        _ = root.tables("device")
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
        return (rules, zones)
    }

    /// How many lines start with `header`: the devices to make room for
    /// (an estimate; a commented-out header is not counted, one in a string is).
    static func headerCount(_ bytes: [UInt8], _ header: String) -> Int {
        let pattern = Array(header.utf8)
        var count = 0
        var lineStart = true
        var position = 0
        while position < bytes.count {
            if lineStart && bytes[position] == pattern[0] && position + pattern.count <= bytes.count
                && bytes[position..<position + pattern.count].elementsEqual(pattern) {
                count += 1
            }
            lineStart = bytes[position] == 0x0A
            position += 1
        }
        return count
    }

    /// One `[[device]]` table: the device, or nil with its errors recorded.
    static func readDevice(_ entry: inout TableReader, catalog: CodecCatalog) -> Device? {
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
        guard let rawID else { return nil }
        let id = rawID.lowercased()
        guard DeviceRegistry.isValidID(id) else {
            entry.fail("id", "'\(rawID)' is not a DevEUI, IMEI or device id")
            return nil
        }
        guard let codec, catalog.codec(codec) != nil, let kind else { return nil }
        return Device(id: id, name: name, codecID: codec, kind: kind, zone: zone, longitude: longitude, latitude: latitude,
                      binDepthMillimetres: binDepth, sensorOffsetMillimetres: sensorOffset, station: station, reportingIntervalMillis: interval)
    }
}
