import Readings
import Store
import Uplink

/// What the database says about the gateway: `citygate status` prints it,
/// `citygate status --json` and `/api/status` serve its `fields` (the same
/// names and shapes: fields are added, never renamed).
public struct StatusReport: Sendable {
    public var database: String
    public var statistics: StoreStatistics
    public var activity: [DeviceID: (uplinks: Int64, lastSeen: EpochMillis)]
    public var registry: DeviceRegistry
    /// Registered and seen devices per kind.
    public var kinds: [String: (registered: Int, seen: Int)] = [:]
    public var unregistered: [DeviceID] = []
    public var silent: [SilentDevices.Entry] = []
    public var neverSeen: [DeviceID] = []
    /// Devices seen, by id (text and JSON list them in this order).
    public var seenDevices: [DeviceID] = []

    public init(database: String, store: GatewayStore, registry: DeviceRegistry, windows: [SensorKind: Int64],
                silentAfterIntervals: Int, now: EpochMillis) throws {
        self.database = database
        statistics = try store.statistics()
        activity = try store.deviceActivity()
        self.registry = registry
        for device in registry.devices.values {
            kinds[device.kind.rawValue, default: (0, 0)].registered += 1
            if activity[device.id] != nil { kinds[device.kind.rawValue, default: (0, 0)].seen += 1 }
        }
        unregistered = activity.keys.filter { registry.device($0) == nil }.sorted()
        let found = SilentDevices.find(registry: registry, windows: windows, lastSeen: activity.mapValues(\.lastSeen),
                                       now: now, multiple: silentAfterIntervals)
        silent = found.silent
        neverSeen = found.neverSeen
        seenDevices = activity.keys.sorted()
    }

    /// ` "Name"` after an id, when the registry names the device.
    public func named(_ id: DeviceID) -> String { registry.device(id)?.name.map { " \"\($0)\"" } ?? "" }

    /// The `citygate status --json` object's members.
    public var fields: [(String, JSONText)] {
        let devices = seenDevices.map { id -> (String, JSONText) in
            var fields: [(String, JSONText)] = [("kind", .string(registry.device(id)?.kind.rawValue ?? "unregistered"))]
            if let name = registry.device(id)?.name { fields.append(("name", .string(name))) }
            fields += [("uplinks", .integer(activity[id]!.uplinks)), ("last_seen", .string(RFC3339.format(activity[id]!.lastSeen)))]
            return (id, .object(fields))
        }
        let kindObjects = kinds.keys.sorted().map {
            ($0, JSONText.object([("registered", .integer(Int64(kinds[$0]!.registered))), ("seen", .integer(Int64(kinds[$0]!.seen)))]))
        }
        let hubs = statistics.hubs.keys.sorted().map { name -> (String, JSONText) in
            let hub = statistics.hubs[name]!
            return (name, .object([
                ("backlog", .integer(hub.backlog)), ("delivered", .integer(hub.delivered)), ("dead_lettered", .integer(hub.deadLettered)),
                ("oldest_undelivered", hub.oldestUndelivered.map { .string(RFC3339.format($0)) } ?? .null),
            ]))
        }
        return [
            ("database", .string(database)),
            ("uplinks_stored", .integer(statistics.uplinksStored)),
            ("uplinks_pending", .integer(statistics.uplinksPending)),
            ("readings_stored", .integer(statistics.readingsStored)),
            ("readings_too_late", .integer(statistics.readingsTooLate)),
            ("duplicates", .integer(statistics.duplicates)),
            ("quarantined", .integer(statistics.quarantined)),
            ("aggregates", .integer(statistics.aggregates)),
            ("hubs", .object(hubs)),
            ("kinds", .object(kindObjects)),
            ("silent_devices", .array(silent.map { entry in
                .object([("id", .string(entry.device))] + (registry.device(entry.device)?.name.map { [("name", JSONText.string($0))] } ?? [])
                        + [("last_seen", .string(RFC3339.format(entry.lastSeen))),
                           ("expected_interval", .string(Window.isoDuration(entry.expectedIntervalMillis)))])
            })),
            ("never_seen_devices", .integer(Int64(neverSeen.count))),
            ("devices", .object(devices)),
        ]
    }

    /// The text `citygate status` prints.
    public var lines: [String] {
        var lines = [
            "database      \(database)",
            "uplinks       \(statistics.uplinksStored) stored, \(statistics.uplinksPending) pending",
            "readings      \(statistics.readingsStored) (\(statistics.readingsTooLate) too late to aggregate)",
            "duplicates    \(statistics.duplicates)",
            "quarantined   \(statistics.quarantined)",
            "aggregates    \(statistics.aggregates)",
        ]
        for (kind, figures) in kinds.sorted(by: { $0.key < $1.key }) {
            lines.append("kind \(kind): \(figures.registered) registered, \(figures.seen) seen")
        }
        if !unregistered.isEmpty { lines.append("unregistered devices seen: \(unregistered.count)") }
        for entry in silent.prefix(50) {
            lines.append("SILENT device \(entry.device)\(named(entry.device)): last seen \(RFC3339.format(entry.lastSeen)), reports every \(Window.isoDuration(entry.expectedIntervalMillis))")
        }
        if !neverSeen.isEmpty { lines.append("registered devices never seen: \(neverSeen.count)") }
        for id in seenDevices.prefix(50) {
            let seen = activity[id]!
            lines.append("device \(id)\(named(id)): \(seen.uplinks) uplinks, last seen \(RFC3339.format(seen.lastSeen))\(registry.device(id) == nil ? " (not registered)" : "")")
        }
        if seenDevices.count > 50 { lines.append("... and \(seenDevices.count - 50) more devices (all of them in --json)") }
        for (name, hub) in statistics.hubs.sorted(by: { $0.key < $1.key }) {
            lines.append("hub \(name): \(hub.delivered) delivered, \(hub.backlog) backlog, \(hub.deadLettered) dead-lettered, oldest undelivered \(hub.oldestUndelivered.map(RFC3339.format) ?? "-")")
        }
        return lines
    }
}
