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

    /// `simulatedStart` nil: frames carry the real time of publishing.
    public init(devices: [SimulatedDevice], seed: UInt64, simulatedStart: EpochMillis?, stepMillis: Int64) {
        self.devices = devices
        model = SignalModel(seed: seed)
        start = simulatedStart
        step = stepMillis
        fCnt = [UInt32](repeating: 0, count: devices.count)
    }

    /// The frame for publish number `index` and its MQTT message.
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
