import Foundation
import Readings

/// The uplinks of a fleet in publishing order: round-robin over the devices,
/// each with its own frame counter, each a real vendor payload in a ChirpStack
/// v4 envelope stamped with the simulated (or real) time. Seeded: the same
/// seed gives the same frames.
public struct FleetTraffic {
    public let devices: [SimulatedDevice]
    var model: SignalModel
    let start: EpochMillis?
    let step: Int64
    var fCnt: [UInt32]
    let faults: FaultPlan
    var faultGenerator: SeededGenerator
    /// Faults injected so far, by name; `copies` are extra messages, not frames.
    public private(set) var injected: [String: Int] = [:]

    /// `simulatedStart` nil: frames carry the real time of publishing.
    public init(devices: [SimulatedDevice], seed: UInt64, simulatedStart: EpochMillis?, stepMillis: Int64, faults: FaultPlan = FaultPlan()) {
        self.devices = devices
        model = SignalModel(seed: seed)
        start = simulatedStart
        step = stepMillis
        fCnt = [UInt32](repeating: 0, count: devices.count)
        self.faults = faults
        faultGenerator = SeededGenerator(seed: seed ^ 0xFA17)
    }

    mutating func roll(_ rate: Double, _ name: String) -> Bool {
        guard rate > 0, Double.random(in: 0..<1, using: &faultGenerator) < rate else { return false }
        injected[name, default: 0] += 1
        return true
    }

    /// Frame number `index` as its MQTT messages: the frame, and a second
    /// network-server copy when the fault plan rolls one. The frame carries
    /// the faults rolled for it (the manifest marks them).
    public mutating func messages(_ index: Int) -> (messages: [(topic: String, payload: [UInt8])], frame: SimulatedFrame, faults: [String]) {
        var next = self.next(index)
        var applied: [String] = []
        if roll(faults.unknownDevice, "unknown_device") {
            next.frame.device.devEUI = "ffff" + String(UInt64.random(in: 0...UInt64(0xFFFF_FFFF_FFFF), using: &faultGenerator), radix: 16)
                .leftPadded(to: 12)
            applied.append("unknown_device")
        }
        if roll(faults.corrupt, "corrupt") {
            next.frame.payload = next.frame.payload.map { _ in UInt8.random(in: 0...255, using: &faultGenerator) }
            applied.append("corrupt")
        }
        if roll(faults.truncated, "truncated"), next.frame.payload.count > 1 {
            next.frame.payload = Array(next.frame.payload.prefix(next.frame.payload.count / 2))
            applied.append("truncated")
        }
        if roll(faults.late, "late") {
            next.frame.time -= 2 * 3_600_000
            applied.append("late")
        }
        let topic = ChirpStackEncoder.topic(for: next.frame.device)
        var out = [(topic, encode(next.frame))]
        if roll(faults.copies, "copies") { out.append((topic, encode(next.frame))) }
        return (out, next.frame, applied)
    }

    mutating func encode(_ frame: SimulatedFrame) -> [UInt8] {
        let snr = "\(Int.random(in: 3...9)).\(Int.random(in: 0...9))"
        return ChirpStackEncoder.event(frame, deduplicationID: model.uuid(), gatewayRSSI: -60 - Int.random(in: 0...50), gatewaySNR: snr)
    }

    /// The frame for publish number `index` and its MQTT message (no faults).
    public mutating func next(_ index: Int) -> (topic: String, payload: [UInt8], frame: SimulatedFrame) {
        let slot = index % devices.count
        let device = devices[slot]
        // Time compression: round r of the fleet happens at start + r·interval.
        let now = start.map { $0 + Int64(index / devices.count) * step } ?? EpochMillis(Date().timeIntervalSince1970 * 1000)
        let frame = model.frame(for: device, fCnt: fCnt[slot], time: now)
        fCnt[slot] &+= 1
        let snr = "\(Int.random(in: 3...9)).\(Int.random(in: 0...9))"
        let payload = ChirpStackEncoder.event(frame, deduplicationID: model.uuid(), gatewayRSSI: -60 - Int.random(in: 0...50), gatewaySNR: snr)
        return (ChirpStackEncoder.topic(for: device), payload, frame)
    }
}

extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
