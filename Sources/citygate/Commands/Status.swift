import ArgumentParser
import Foundation
import Gateway
import Readings
import Store
import Uplink

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read the database (read-only, safe while the daemon runs) and print its figures.")

    @OptionGroup var options: DatabaseOptions
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let settings = try options.load()
        let path = settings.databasePath
        let statistics: StoreStatistics
        let activity: [DeviceID: (uplinks: Int64, lastSeen: EpochMillis)]
        do {
            let store = try GatewayStore(readOnlyPath: path)
            statistics = try store.statistics()
            activity = try store.deviceActivity()
        } catch {
            FileHandle.standardError.write(Data("cannot read \(path): \(error)\n".utf8))
            throw ExitCode.failure
        }
        // Devices per kind: registered ones from the config's registry, plus devices seen but not registered.
        let registry = settings.registry
        var kinds: [String: (registered: Int, seen: Int)] = [:]
        for device in registry.devices.values {
            kinds[device.kind.rawValue, default: (0, 0)].registered += 1
            if activity[device.id] != nil { kinds[device.kind.rawValue, default: (0, 0)].seen += 1 }
        }
        let unregistered = activity.keys.filter { registry.device($0) == nil }.sorted()
        let silent = SilentDevices.find(registry: registry, windows: settings.windows, lastSeen: activity.mapValues(\.lastSeen),
                                        now: GatewayClock.now(), multiple: settings.silentAfterIntervals)
        // Devices in one order for text and JSON: by id.
        let seenDevices = activity.keys.sorted()
        /// ` "Name"` after an id, when the registry names the device.
        func named(_ id: DeviceID) -> String { registry.device(id)?.name.map { " \"\($0)\"" } ?? "" }
        if json {
            let devices = seenDevices.map { id -> (String, JSONText) in
                var fields: [(String, JSONText)] = [("kind", .string(registry.device(id)?.kind.rawValue ?? "unregistered"))]
                if let name = registry.device(id)?.name { fields.append(("name", .string(name))) }
                fields += [("uplinks", .integer(activity[id]!.uplinks)), ("last_seen", .string(RFC3339.format(activity[id]!.lastSeen)))]
                return (id, .object(fields))
            }
            let kindObjects = kinds.keys.sorted().map { ($0, JSONText.object([("registered", .integer(Int64(kinds[$0]!.registered))), ("seen", .integer(Int64(kinds[$0]!.seen)))])) }
            let hubs = statistics.hubs.keys.sorted().map { name -> (String, JSONText) in
                let hub = statistics.hubs[name]!
                return (name, .object([
                    ("backlog", .integer(hub.backlog)), ("delivered", .integer(hub.delivered)), ("dead_lettered", .integer(hub.deadLettered)),
                    ("oldest_undelivered", hub.oldestUndelivered.map { .string(RFC3339.format($0)) } ?? .null),
                ]))
            }
            print(JSONText.object([
                ("database", .string(path)),
                ("uplinks_stored", .integer(statistics.uplinksStored)),
                ("uplinks_pending", .integer(statistics.uplinksPending)),
                ("readings_stored", .integer(statistics.readingsStored)),
                ("readings_too_late", .integer(statistics.readingsTooLate)),
                ("duplicates", .integer(statistics.duplicates)),
                ("quarantined", .integer(statistics.quarantined)),
                ("aggregates", .integer(statistics.aggregates)),
                ("hubs", .object(hubs)),
                ("kinds", .object(kindObjects)),
                ("silent_devices", .array(silent.silent.map { entry in
                    .object([("id", .string(entry.device))] + (registry.device(entry.device)?.name.map { [("name", JSONText.string($0))] } ?? [])
                            + [("last_seen", .string(RFC3339.format(entry.lastSeen))),
                               ("expected_interval", .string(Window.isoDuration(entry.expectedIntervalMillis)))])
                })),
                ("never_seen_devices", .integer(Int64(silent.neverSeen.count))),
                ("devices", .object(devices)),
            ]).serialized())
        } else {
            print("database      \(path)")
            print("uplinks       \(statistics.uplinksStored) stored, \(statistics.uplinksPending) pending")
            print("readings      \(statistics.readingsStored) (\(statistics.readingsTooLate) too late to aggregate)")
            print("duplicates    \(statistics.duplicates)")
            print("quarantined   \(statistics.quarantined)")
            print("aggregates    \(statistics.aggregates)")
            for (kind, figures) in kinds.sorted(by: { $0.key < $1.key }) {
                print("kind \(kind): \(figures.registered) registered, \(figures.seen) seen")
            }
            if !unregistered.isEmpty { print("unregistered devices seen: \(unregistered.count)") }
            for entry in silent.silent.prefix(50) {
                print("SILENT device \(entry.device)\(named(entry.device)): last seen \(RFC3339.format(entry.lastSeen)), reports every \(Window.isoDuration(entry.expectedIntervalMillis))")
            }
            if !silent.neverSeen.isEmpty { print("registered devices never seen: \(silent.neverSeen.count)") }
            for id in seenDevices.prefix(50) {
                let seen = activity[id]!
                print("device \(id)\(named(id)): \(seen.uplinks) uplinks, last seen \(RFC3339.format(seen.lastSeen))\(registry.device(id) == nil ? " (not registered)" : "")")
            }
            if seenDevices.count > 50 { print("... and \(seenDevices.count - 50) more devices (all of them in --json)") }
            for (name, hub) in statistics.hubs.sorted(by: { $0.key < $1.key }) {
                print("hub \(name): \(hub.delivered) delivered, \(hub.backlog) backlog, \(hub.deadLettered) dead-lettered, oldest undelivered \(hub.oldestUndelivered.map(RFC3339.format) ?? "-")")
            }
        }
    }
}
