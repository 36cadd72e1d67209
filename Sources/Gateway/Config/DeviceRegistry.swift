import Codecs
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

    public var locationText: (longitude: String, latitude: String)? {
        guard let longitude, let latitude else { return nil }
        return (FixedPoint.decimalString(longitude, decimals: 7), FixedPoint.decimalString(latitude, decimals: 7))
    }
}

/// The device registry (`devices.toml`): `[[device]]` tables.
public struct DeviceRegistry: Sendable {
    public private(set) var devices: [DeviceID: Device]

    public init(devices: [Device]) {
        self.devices = Dictionary(devices.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func device(_ id: DeviceID) -> Device? { devices[id] }
    public var count: Int { devices.count }

    /// A device id is a DevEUI (16 hex digits), an IMEI (15 digits) or another
    /// lowercase network-server id (`eui-…`, `[a-z0-9._-]`).
    static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64 && id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 46 || $0 == 95 }
    }

    static func load(path: String, catalog: CodecCatalog, issues: ConfigIssues) -> DeviceRegistry {
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
        var seen: Set<String> = []
        for var entry in root.tables("device") {
            let rawID = entry.string("id")
            let codec = entry.string("codec")
            let kind = entry.string("kind", oneOf: SensorKind.allCases.map(\.rawValue)).flatMap(SensorKind.init(rawValue:))
            let name = entry.string("name")
            let zone = entry.string("zone")
            let longitude = entry.decimal("longitude", decimals: 7, in: -180_0000000...180_0000000)
            let latitude = entry.decimal("latitude", decimals: 7, in: -90_0000000...90_0000000)
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
                else if !seen.insert(id).inserted { entry.fail("id", "device \(id) is listed twice") }
                else if let codec, catalog.codec(codec) != nil, let kind {
                    devices.append(Device(id: id, name: name, codecID: codec, kind: kind, zone: zone, longitude: longitude, latitude: latitude))
                }
            }
            entry.finish()
        }
        root.finish()
        return DeviceRegistry(devices: devices)
    }
}
