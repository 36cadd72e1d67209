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
    /// Faults injected so far, by name; `copies` and `join_events` are extra messages, not frames.
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
        var applied: [String] = []
        var out: [(topic: String, payload: [UInt8])] = []
        // A battery swap: the device rejoins (ChirpStack publishes a join
        // event; TTS's join goes to a topic the gateway does not take) and
        // counts frames from 0 again.
        let slot = index % devices.count
        if fCnt[slot] > 1, roll(faults.fcntReset, "fcnt_reset") {
            fCnt[slot] = 0
            applied.append("fcnt_reset")
            if devices[slot].envelope == .chirpstack {
                let time = start.map { $0 + Int64(index / devices.count) * step } ?? EpochMillis(Date().timeIntervalSince1970 * 1000)
                out.append((ChirpStackEncoder.joinTopic(for: devices[slot]), ChirpStackEncoder.join(devices[slot], deduplicationID: model.uuid(), time: time - 1000)))
                injected["join_events", default: 0] += 1
            }
        }
        var frame = self.frame(index)
        if roll(faults.unknownDevice, "unknown_device") {
            frame.device.devEUI = "ffff" + Hex.digits(UInt64.random(in: 0...0xFFFF_FFFF_FFFF, using: &faultGenerator), count: 12)
            applied.append("unknown_device")
        }
        if roll(faults.corrupt, "corrupt") {
            frame.payload = frame.payload.map { _ in UInt8.random(in: 0...255, using: &faultGenerator) }
            applied.append("corrupt")
        }
        if roll(faults.truncated, "truncated"), frame.payload.count > 1 {
            frame.payload = Array(frame.payload.prefix(frame.payload.count / 2))
            applied.append("truncated")
        }
        if roll(faults.late, "late") {
            frame.time -= 2 * 3_600_000
            applied.append("late")
        }
        let topic = frame.device.envelope == .tts ? TTSEncoder.topic(for: frame.device) : ChirpStackEncoder.topic(for: frame.device)
        out.append((topic, encode(frame)))
        if roll(faults.copies, "copies") { out.append((topic, encode(frame))) }
        return (out, frame, applied)
    }

    /// The gateways that heard a frame: one to three, as in a city with overlapping coverage.
    static let gatewayIDs = ["0016c001ff10a235", "0016c001ff10b7e2", "0016c001ff10c041"]

    mutating func encode(_ frame: SimulatedFrame) -> [UInt8] {
        let heard = Int.random(in: 1...3, using: &faultGenerator)
        let gateways = Self.gatewayIDs.prefix(heard).map { id in
            (id: id, rssi: -60 - Int.random(in: 0...55, using: &faultGenerator),
             snr: "\(Int.random(in: -5...9, using: &faultGenerator)).\(Int.random(in: 0...9, using: &faultGenerator))")
        }
        switch frame.device.envelope {
        case .chirpstack: return ChirpStackEncoder.event(frame, deduplicationID: model.uuid(), gateways: Array(gateways))
        case .tts: return TTSEncoder.uplink(frame, gateways: Array(gateways), correlationID: model.uuid())
        }
    }

    /// The frame for publish number `index`, before faults.
    mutating func frame(_ index: Int) -> SimulatedFrame {
        let slot = index % devices.count
        let device = devices[slot]
        // Time compression: round r of the fleet happens at start + r·interval.
        let now = start.map { $0 + Int64(index / devices.count) * step } ?? EpochMillis(Date().timeIntervalSince1970 * 1000)
        let frame = model.frame(for: device, fCnt: fCnt[slot], time: now)
        fCnt[slot] &+= 1
        return frame
    }
}
