import Foundation
import Readings
import TOML

/// A scenario file (`Simulator/scenarios/*.toml`): the fleet, how often it
/// reports, and the faults to inject at set rates. Strict like the gateway's
/// config: an unknown key or a bad value is an error naming the line.
public struct Scenario: Sendable, Equatable {
    public var name: String
    public var seed: UInt64
    public var devices: [SimulatedDevice]
    /// Time between two reports of one device (simulated time).
    public var intervalMillis: Int64
    /// Each report comes up to this much early or late; with jitter, devices
    /// also start at random points of their interval instead of in step.
    public var jitterMillis: Int64 = 0
    public var faults: FaultPlan

    public struct ScenarioError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func load(path: String) throws -> Scenario {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ScenarioError(description: "\(path): cannot read") }
        let table: TOMLTable
        do { table = try TOMLParser.parse(text) } catch { throw ScenarioError(description: "\(path): line \(error.line): \(error.message)") }
        var problems: [String] = []
        func fail(_ key: String, _ line: Int?, _ reason: String) { problems.append("\(path):\(line.map(String.init) ?? "-"): \(key): \(reason)") }
        func check(_ table: TOMLTable, allowed: Set<String>, at path: String) {
            for key in table.keys where !allowed.contains(key) { fail(path.isEmpty ? key : "\(path).\(key)", table.entry(key)?.line, "unknown key") }
        }
        func string(_ table: TOMLTable, _ key: String, at path: String) -> String? {
            guard let value = table[key] else { return nil }
            guard case let .string(text) = value else { fail("\(path)\(key)", table.entry(key)?.line, "expected a string"); return nil }
            return text
        }
        func integer(_ table: TOMLTable, _ key: String, at path: String, in range: ClosedRange<Int64>) -> Int64? {
            guard let value = table[key] else { return nil }
            guard case let .integer(number) = value, range.contains(number) else {
                fail("\(path)\(key)", table.entry(key)?.line, "expected an integer in \(range)"); return nil
            }
            return number
        }
        func rate(_ table: TOMLTable, _ key: String) -> Double {
            guard let value = table[key] else { return 0 }
            let text: String
            switch value {
            case let .float(t): text = t
            case let .integer(n): text = String(n)
            default: fail("faults.\(key)", table.entry(key)?.line, "expected a number between 0 and 1"); return 0
            }
            guard let number = Double(text), (0...1).contains(number) else { fail("faults.\(key)", table.entry(key)?.line, "expected a number between 0 and 1"); return 0 }
            return number
        }

        check(table, allowed: ["name", "seed", "interval", "jitter", "device", "group", "faults"], at: "")
        var scenario = Scenario(name: string(table, "name", at: "") ?? PathText.lastComponent(of: path), seed: 1, devices: [],
                                intervalMillis: 900_000, faults: FaultPlan())
        if let seed = integer(table, "seed", at: "", in: 0...Int64.max) { scenario.seed = UInt64(seed) }
        if let interval = string(table, "interval", at: "") {
            if let millis = DurationText.parseMillis(interval), millis > 0 { scenario.intervalMillis = millis }
            else { fail("interval", table.entry("interval")?.line, "'\(interval)' is not a duration") }
        }
        func duration(_ entry: TOMLTable, _ key: String, at path: String) -> Int64? {
            guard let text = string(entry, key, at: path) else { return nil }
            guard let millis = DurationText.parseMillis(text), millis >= 0 else {
                fail("\(path)\(key)", entry.entry(key)?.line, "'\(text)' is not a duration like 30s or 15m"); return nil
            }
            return millis
        }
        if let jitter = duration(table, "jitter", at: "") { scenario.jitterMillis = jitter }
        func tables(_ key: String) -> [TOMLTable] {
            guard case let .array(items)? = table[key] else { return [] }
            return items.compactMap { if case let .table(t) = $0 { return t } else { return nil } }
        }
        func model(_ entry: TOMLTable, at path: String) -> SimulatedDevice.Model? {
            guard let name = string(entry, "model", at: path) else { fail("\(path)model", entry.line, "required"); return nil }
            guard let model = SimulatedDevice.Model(rawValue: name) else {
                fail("\(path)model", entry.entry("model")?.line, "'\(name)' is not one of \(SimulatedDevice.Model.allCases.map(\.rawValue).joined(separator: ", "))")
                return nil
            }
            return model
        }
        func envelope(_ entry: TOMLTable, at path: String) -> SimulatedDevice.Envelope {
            guard let name = string(entry, "envelope", at: path) else { return .chirpstack }
            guard let envelope = SimulatedDevice.Envelope(rawValue: name) else {
                fail("\(path)envelope", entry.entry("envelope")?.line, "'\(name)' is not chirpstack, tts, nbiot or nbiot-hex"); return .chirpstack
            }
            return envelope
        }
        func cellularCheck(_ model: SimulatedDevice.Model, _ envelope: SimulatedDevice.Envelope, _ entry: TOMLTable, at path: String) {
            if envelope.isCellular && !model.hasCellularVariant {
                fail("\(path)envelope", entry.entry("envelope")?.line, "\(model.rawValue) has no NB-IoT variant (Milesight em300-th, em310-udl, em400-udl do)")
            }
        }
        // Devices listed one by one (the demo district), then groups by model and count.
        for (index, entry) in tables("device").enumerated() {
            let at = "device[\(index + 1)]."
            check(entry, allowed: ["id", "name", "model", "zone", "longitude", "latitude", "envelope", "interval"], at: "device[\(index + 1)]")
            guard let model = model(entry, at: at), let id = string(entry, "id", at: at), let zone = string(entry, "zone", at: at) else {
                if entry["id"] == nil { fail("\(at)id", entry.line, "required") }
                if entry["zone"] == nil { fail("\(at)zone", entry.line, "required") }
                continue
            }
            func coordinate(_ key: String) -> String {
                switch entry[key] { case let .float(t)?: return t; case let .integer(n)?: return String(n); default: return "0" }
            }
            let deviceEnvelope = envelope(entry, at: at)
            cellularCheck(model, deviceEnvelope, entry, at: at)
            var device = SimulatedDevice(devEUI: id.lowercased(), name: string(entry, "name", at: at) ?? id, model: model, zone: zone,
                                         longitude: coordinate("longitude"), latitude: coordinate("latitude"), envelope: deviceEnvelope)
            device.intervalMillis = duration(entry, "interval", at: at).flatMap { $0 > 0 ? $0 : nil }
            scenario.devices.append(device)
        }
        for (index, entry) in tables("group").enumerated() {
            let at = "group[\(index + 1)]."
            check(entry, allowed: ["model", "count", "zones", "envelope", "interval"], at: "group[\(index + 1)]")
            let groupEnvelope = envelope(entry, at: at)
            let groupInterval = duration(entry, "interval", at: at).flatMap { $0 > 0 ? $0 : nil }
            guard let model = model(entry, at: at), let count = integer(entry, "count", at: at, in: 1...1_000_000) else {
                if entry["count"] == nil { fail("\(at)count", entry.line, "required") }
                continue
            }
            cellularCheck(model, groupEnvelope, entry, at: at)
            var zones: [String] = []
            if case let .array(items)? = entry["zones"] { zones = items.compactMap { if case let .string(z) = $0 { return z } else { return nil } } }
            if zones.isEmpty { zones = (0..<10).map { "zone-\($0)" } }
            for member in 0..<Int(count) {
                var device = SimulatedDevice.generated(serial: scenario.devices.count, model: model, zone: zones[member % zones.count],
                                                       euiPrefix: "a8404102", envelope: groupEnvelope)
                device.intervalMillis = groupInterval
                scenario.devices.append(device)
            }
        }
        if case let .table(faults)? = table["faults"] {
            check(faults, allowed: ["copies", "corrupt", "truncated", "unknown_device", "late", "fcnt_reset",
                                    "sentinel", "out_of_range", "out_of_order", "burst", "burst_size"], at: "faults")
            scenario.faults = FaultPlan(copies: rate(faults, "copies"), corrupt: rate(faults, "corrupt"), truncated: rate(faults, "truncated"),
                                        unknownDevice: rate(faults, "unknown_device"), late: rate(faults, "late"), fcntReset: rate(faults, "fcnt_reset"),
                                        sentinel: rate(faults, "sentinel"), outOfRange: rate(faults, "out_of_range"),
                                        outOfOrder: rate(faults, "out_of_order"), burst: rate(faults, "burst"),
                                        burstFrames: Int(integer(faults, "burst_size", at: "faults.", in: 2...100) ?? 5))
        }
        if scenario.devices.isEmpty { fail("device", nil, "a scenario needs at least one [[device]] or [[group]]") }
        let ids = scenario.devices.map(\.devEUI)
        if Set(ids).count != ids.count { fail("device", nil, "a device id is listed twice") }
        if !problems.isEmpty { throw ScenarioError(description: problems.joined(separator: "\n")) }
        return scenario
    }
}

/// Faults injected per frame, each at its own rate (0...1), from the run's
/// seed. A faulty frame is still one distinct uplink the gateway must keep
/// (quarantined if it cannot decode it); a copy is not a new uplink.
public struct FaultPlan: Sendable, Equatable {
    /// The same frame again with another deduplicationId (a second network-server copy).
    public var copies = 0.0
    /// Payload bytes replaced by random ones.
    public var corrupt = 0.0
    /// Payload cut to half its length.
    public var truncated = 0.0
    /// A DevEUI (or IMEI) that is in no registry.
    public var unknownDevice = 0.0
    /// Envelope time two hours in the past (late for the windows it belongs to).
    public var late = 0.0
    /// The device's frame counter restarts at 0 (a battery swap and rejoin).
    public var fcntReset = 0.0
    /// The vendor's "no reading" code in one value (models that have one).
    public var sentinel = 0.0
    /// A value no real sensor reads (models with more than an on/off bit).
    public var outOfRange = 0.0
    /// The frame arrives after the device's next frame.
    public var outOfOrder = 0.0
    /// The device sends `burstFrames` frames a second apart instead of one.
    public var burst = 0.0
    public var burstFrames = 5

    public init(copies: Double = 0, corrupt: Double = 0, truncated: Double = 0, unknownDevice: Double = 0, late: Double = 0, fcntReset: Double = 0,
                sentinel: Double = 0, outOfRange: Double = 0, outOfOrder: Double = 0, burst: Double = 0, burstFrames: Int = 5) {
        self.fcntReset = fcntReset
        self.copies = copies
        self.corrupt = corrupt
        self.truncated = truncated
        self.unknownDevice = unknownDevice
        self.late = late
        self.sentinel = sentinel
        self.outOfRange = outOfRange
        self.outOfOrder = outOfOrder
        self.burst = burst
        self.burstFrames = burstFrames
    }

    public var isEmpty: Bool { self == FaultPlan() }
}
