import Foundation
import Readings

/// The uplinks of a fleet in publishing order: each device on its own
/// schedule (`FleetSchedule`), with its own frame counter, each frame a real
/// vendor payload in its network's envelope (ChirpStack v4, TTS v3 or an
/// NB-IoT frame), stamped with the simulated (or real) time, with the
/// scenario's faults rolled per frame. Seeded: the same seed gives the same
/// messages.
public struct FleetTraffic {
    public typealias Message = (topic: String, payload: [UInt8])

    public let devices: [SimulatedDevice]
    var model: SignalModel
    let start: EpochMillis?
    var schedule: FleetSchedule
    var fCnt: [UInt32]
    let faults: FaultPlan
    var faultGenerator: SeededGenerator
    /// Frames held back to arrive after the device's next frame (out of order).
    var held: [Int: [Message]] = [:]
    /// Each device's last frame time (a rejoin is stamped between two frames).
    var lastTime: [Int: EpochMillis] = [:]
    /// Faults injected so far, by name; `copies` and `join_events` are extra
    /// messages, `burst_frames` extra distinct frames.
    public private(set) var injected: [String: Int] = [:]

    /// What one step of the fleet publishes: usually one frame (and its
    /// copies); a burst is several frames, an out-of-order frame is held
    /// back and follows the device's next one.
    public struct Step {
        public var messages: [Message]
        /// The frame scheduled for this step (before any burst frames).
        public var frame: SimulatedFrame
        /// Distinct frames made in this step (a held frame counts where it was made).
        public var frames: Int
        public var faults: [String]
        /// Simulated time of the step (real time without a simulated start).
        public var time: EpochMillis
    }

    /// `simulatedStart` nil: frames carry the real time of publishing.
    /// `stepMillis` is every device's interval unless the device has its own;
    /// `jitterMillis` spreads reports (see `FleetSchedule`).
    public init(devices: [SimulatedDevice], seed: UInt64, simulatedStart: EpochMillis?, stepMillis: Int64, jitterMillis: Int64 = 0,
                faults: FaultPlan = FaultPlan()) {
        self.devices = devices
        model = SignalModel(seed: seed)
        start = simulatedStart
        schedule = FleetSchedule(intervals: devices.map { $0.intervalMillis ?? stepMillis }, start: simulatedStart ?? 0, jitterMillis: jitterMillis, seed: seed)
        fCnt = [UInt32](repeating: 0, count: devices.count)
        self.faults = faults
        faultGenerator = SeededGenerator(seed: seed ^ 0xFA17)
    }

    mutating func roll(_ rate: Double, _ name: String) -> Bool {
        guard rate > 0, Double.random(in: 0..<1, using: &faultGenerator) < rate else { return false }
        injected[name, default: 0] += 1
        return true
    }

    /// The wall clock in epoch milliseconds (frames without a simulated start carry it).
    public static func realNow() -> EpochMillis { EpochMillis(Date().timeIntervalSince1970 * 1000) }

    /// The next step of the fleet.
    public mutating func next() -> Step {
        let (slot, scheduled) = schedule.next()
        let time = start == nil ? Self.realNow() : scheduled
        let device = devices[slot]
        var applied: [String] = []
        var out: [Message] = []
        // A battery swap: the device rejoins (ChirpStack publishes a join
        // event; TTS's join goes to a topic the gateway does not take; an
        // NB-IoT module just reboots) and counts frames from 0 again.
        if fCnt[slot] > 1, roll(faults.fcntReset, "fcnt_reset") {
            fCnt[slot] = 0
            applied.append("fcnt_reset")
            // A frame held back arrives before the rejoin: a network server
            // drops an old session's frame after it (the keys changed).
            out += held.removeValue(forKey: slot) ?? []
            if device.envelope == .chirpstack {
                // The join happens between the last frame of the old session and the first of the new.
                let joined = lastTime[slot].map { $0 + max(1, (time - $0) / 2) } ?? time - 1000
                out.append((ChirpStackEncoder.joinTopic(for: device), ChirpStackEncoder.join(device, deduplicationID: model.uuid(), time: min(joined, time))))
                injected["join_events", default: 0] += 1
            }
        }
        var anomaly: SignalAnomaly?
        if SignalAnomaly.sentinel.applies(to: device.model), roll(faults.sentinel, "sentinel") { anomaly = .sentinel }
        else if SignalAnomaly.outOfRange.applies(to: device.model), roll(faults.outOfRange, "out_of_range") { anomaly = .outOfRange }
        if let anomaly { applied.append(anomaly.rawValue) }
        var frame = model.frame(for: device, fCnt: fCnt[slot], time: time, anomaly: anomaly)
        lastTime[slot] = time
        fCnt[slot] &+= 1
        applied += mangle(&frame)
        let messages = self.messages(for: frame)

        // A burst: the device sends several more frames a second apart (an
        // alarm mode, a misconfigured interval), each a distinct uplink.
        var burst: [Message] = []
        var frames = 1
        if faults.burstFrames > 1, roll(faults.burst, "burst") {
            applied.append("burst")
            for extra in 1..<faults.burstFrames {
                let next = model.frame(for: device, fCnt: fCnt[slot], time: time + Int64(extra) * 1000)
                fCnt[slot] &+= 1
                burst += self.messages(for: next)
                frames += 1
                injected["burst_frames", default: 0] += 1
            }
        }
        let waiting = held.removeValue(forKey: slot) ?? []
        // Out of order: this frame arrives after the device's next one
        // (another gateway's backhaul was slower).
        if waiting.isEmpty, roll(faults.outOfOrder, "out_of_order") {
            applied.append("out_of_order")
            held[slot] = messages
            out += burst
        } else {
            out += messages + burst + waiting
        }
        return Step(messages: out, frame: frame, frames: frames, faults: applied, time: time)
    }

    /// Frames still held back for out-of-order delivery, to publish at the end of a run.
    public mutating func flush() -> [Message] {
        defer { held = [:] }
        return held.keys.sorted().flatMap { held[$0]! }
    }

    /// The byte-level faults rolled for a frame; returns their names.
    mutating func mangle(_ frame: inout SimulatedFrame) -> [String] {
        var applied: [String] = []
        if roll(faults.unknownDevice, "unknown_device") {
            let serial = UInt64.random(in: 0...0xFFFF_FFFF_FFFF, using: &faultGenerator)
            frame.device.devEUI = frame.device.envelope.isCellular
                ? "99900" + decimalDigits(Int(serial % 10_000_000_000), count: 10)
                : "ffff" + Hex.digits(serial, count: 12)
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
        // NB-IoT frames carry no time of their own: the gateway stamps arrival.
        if !frame.device.envelope.isCellular, roll(faults.late, "late") {
            frame.time -= 2 * 3_600_000
            applied.append("late")
        }
        return applied
    }

    /// A frame in its envelope, and a second network-server copy when rolled.
    mutating func messages(for frame: SimulatedFrame) -> [Message] {
        let topic: String
        switch frame.device.envelope {
        case .chirpstack: topic = ChirpStackEncoder.topic(for: frame.device)
        case .tts: topic = TTSEncoder.topic(for: frame.device)
        case .nbiot, .nbiotHex: topic = NBIoTEncoder.topic(for: frame.device)
        }
        var out: [Message] = [(topic, encode(frame))]
        if roll(faults.copies, "copies") { out.append((topic, encode(frame))) }
        return out
    }

    /// The gateways that heard a frame: one to three, as in a city with overlapping coverage.
    static let gatewayIDs = ["0016c001ff10a235", "0016c001ff10b7e2", "0016c001ff10c041"]

    mutating func encode(_ frame: SimulatedFrame) -> [UInt8] {
        if frame.device.envelope.isCellular {
            return NBIoTEncoder.message(frame, signalQuality: UInt8.random(in: 5...31, using: &faultGenerator))
        }
        let heard = Int.random(in: 1...3, using: &faultGenerator)
        let gateways = Self.gatewayIDs.prefix(heard).map { id in
            (id: id, rssi: -60 - Int.random(in: 0...55, using: &faultGenerator),
             snr: "\(Int.random(in: -5...9, using: &faultGenerator)).\(Int.random(in: 0...9, using: &faultGenerator))")
        }
        switch frame.device.envelope {
        case .tts: return TTSEncoder.uplink(frame, gateways: Array(gateways), correlationID: model.uuid())
        default: return ChirpStackEncoder.event(frame, deduplicationID: model.uuid(), gateways: Array(gateways))
        }
    }
}

/// An NB-IoT device's own publish: the Milesight cellular frame around the
/// channel payload, to `nbiot/{IMEI}` (the shipped config's subscription),
/// as raw bytes or, for `nbiot-hex`, as the ASCII hex a modem's hexstring
/// mode sends.
public enum NBIoTEncoder {
    public static func topic(for device: SimulatedDevice) -> String { "nbiot/\(device.devEUI)" }

    public static func message(_ frame: SimulatedFrame, signalQuality: UInt8) -> [UInt8] {
        let bytes = VendorEncoders.milesightNBIoT(frame.device.cellularIdentity, frameCount: UInt16(truncatingIfNeeded: frame.fCnt),
                                                  signalQuality: signalQuality, payload: frame.payload)
        guard frame.device.envelope == .nbiotHex else { return bytes }
        return Array(bytes.map { Hex.digits(UInt64($0), count: 2).uppercased() }.joined().utf8)
    }
}
