import Aggregation
import Hubs
import Readings
import TOML
import Uplink

/// A SensorThings hub needs a position for every Observation: FROST-Server
/// answers 409 for an Observation whose Thing has no Location and that names
/// no FeatureOfInterest (../shared/reference/hub/real-hubs.md), so citygate
/// names one itself, from the device's coordinates or its zone's. A window
/// with neither could never be delivered; the config is refused instead,
/// naming the devices, before the first uplink arrives.
enum HubPositionCheck {
    static func check(_ registry: DeviceRegistry, hubs: [HubConfig], file: String, issues: ConfigIssues) {
        let sensorThings = hubs.filter { $0.kind is SensorThingsHubKind }
        guard !sensorThings.isEmpty else { return }
        // Does a window of this kind reach one of those hubs (per-home damp only a private one)?
        func reaches(_ kind: SensorKind) -> Bool {
            sensorThings.contains { $0.settings.isPrivate || Publication.isPublishable(deviceWindowOf: kind) }
        }
        let hubNames = sensorThings.map(\.name).joined(separator: ", ")
        let unplaced = registry.devices.values.filter { device in
            device.locationText == nil && reaches(device.kind) && device.zone.flatMap(registry.location(ofZone:)) == nil
        }.map(\.id).sorted()
        if let first = unplaced.first {
            let more = unplaced.count > 1 ? " (and \(unplaced.count - 1) more: \(unplaced.dropFirst().prefix(5).joined(separator: ", "))\(unplaced.count > 6 ? ", ..." : ""))" : ""
            issues.errors.append(ConfigError(file: file, key: "device \(first)", line: nil, reason:
                "has no longitude/latitude and its zone no position\(more); SensorThings hub \(hubNames) needs one for every observation: give the device coordinates, or its zone a [[zone]] name/longitude/latitude (or a located device)"))
        }
        for (index, rule) in registry.rules.enumerated() where reaches(rule.kind) {
            if rule.zone.flatMap(registry.location(ofZone:)) == nil {
                let why = rule.zone.map { "its zone '\($0)' has no position" } ?? "it names no zone"
                issues.errors.append(ConfigError(file: file, key: "codec_rule \(index + 1) zone", line: nil, reason:
                    "\(why); the devices it reads have no coordinates, and SensorThings hub \(hubNames) needs a position for every observation: name a zone with a [[zone]] point or a located device"))
            }
        }
    }
}
