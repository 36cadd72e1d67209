import Readings

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
