import Foundation
import Codecs
import SimulatorCore
import Testing

@Suite struct ScenarioTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func theShippedScenariosLoad() throws {
        let demo = try Scenario.load(path: Self.root + "/Simulator/scenarios/demo-district.toml")
        #expect(demo.devices == DemoDistrict.devices, "the demo scenario is the demo district Config/devices.toml registers")
        #expect(demo.faults.isEmpty && demo.intervalMillis == 900_000)
        let city = try Scenario.load(path: Self.root + "/Simulator/scenarios/city-10k.toml")
        #expect(city.devices.count == 10_000)
        #expect(Set(city.devices.map(\.devEUI)).count == 10_000)
        #expect(city.devices.filter { $0.model == .boschTPS110 }.count == 3000 && city.devices.filter { $0.model.kind == .parking }.count == 4000)
        #expect(city.devices.filter { $0.envelope.isCellular }.count == 1000 && city.devices.filter { $0.envelope.isCellular }.allSatisfy { $0.devEUI.count == 15 })
        #expect(city.devices.first { $0.model == .nwaveNPS405 }?.intervalMillis == 300_000 && city.jitterMillis == 60_000)
        #expect(city.faults.copies == 0.05 && city.faults.late == 0.01 && city.faults.outOfOrder == 0.005 && city.faults.burstFrames == 5)
        let big = try Scenario.load(path: Self.root + "/Simulator/scenarios/city-100k.toml")
        #expect(big.devices.count == 100_000 && Set(big.devices.map(\.devEUI)).count == 100_000)
        #expect(big.devices.filter { $0.envelope.isCellular }.count == 10_000 && big.devices.filter { $0.envelope.isCellular }.allSatisfy { $0.devEUI.count == 15 })
        #expect(big.faults.copies == city.faults.copies && big.intervalMillis == city.intervalMillis)
        let pilot = try Scenario.load(path: Self.root + "/Simulator/scenarios/pilot-district.toml")
        #expect(Set(pilot.devices.map(\.model)) == Set(SimulatedDevice.Model.allCases), "the pilot shows every model")
        #expect(Set(pilot.devices.map(\.envelope)) == Set(SimulatedDevice.Envelope.allCases), "and every network")
    }

    @Test func badScenariosNameTheLine() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("scenario-\(UUID().uuidString.prefix(6)).toml").path
        try "seed = 1\n[[group]]\nmodel = \"bosch:tps110\"\ncount = 0\n[faults]\ncopies = 1.5\nlate = \"often\"\n[[group]]\nmodel = \"bosch:tps110\"\ncount = 2\nenvelope = \"nbiot\"\ninterval = \"soon\"\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try Scenario.load(path: path)
            Issue.record("must fail")
        } catch {
            let text = "\(error)"
            #expect(text.contains(":4: group[1].count"), "\(text)")
            #expect(text.contains(":6: faults.copies") && text.contains(":7: faults.late"), "\(text)")
            #expect(text.contains(":11: group[2].envelope: bosch:tps110 has no NB-IoT variant"), "\(text)")
            #expect(text.contains(":12: group[2].interval"), "\(text)")
        }
    }

    @Test func faultsAreInjectedAtTheirRatesAndRepeatWithTheSeed() {
        let devices = DemoDistrict.devices
        func run(_ plan: FaultPlan, seed: UInt64 = 7) -> (messages: Int, frames: [SimulatedFrame], faults: [String: Int]) {
            var traffic = FleetTraffic(devices: devices, seed: seed, simulatedStart: 1_795_000_000_000, stepMillis: 900_000, faults: plan)
            var messages = 0
            var frames: [SimulatedFrame] = []
            for _ in 0..<1000 {
                let next = traffic.next()
                messages += next.messages.count
                frames.append(next.frame)
            }
            return (messages, frames, traffic.injected)
        }
        let clean = run(FaultPlan())
        #expect(clean.messages == 1000 && clean.faults.isEmpty)
        let copies = run(FaultPlan(copies: 1))
        #expect(copies.messages == 2000)
        let unknown = run(FaultPlan(unknownDevice: 1))
        #expect(unknown.frames.allSatisfy { $0.device.devEUI.hasPrefix("ffff") && $0.device.devEUI.count == 16 })
        let truncated = run(FaultPlan(truncated: 1))
        #expect(zip(truncated.frames, clean.frames).allSatisfy { $0.payload.count == $1.payload.count / 2 || $1.payload.count <= 1 })
        let late = run(FaultPlan(late: 1))
        #expect(zip(late.frames, clean.frames).allSatisfy { $0.time == $1.time - 7_200_000 })
        // About the rate asked for, and the same every time with the same seed.
        let mixed = run(FaultPlan(copies: 0.05, corrupt: 0.02))
        #expect((30...70).contains(mixed.faults["copies"] ?? 0) && (8...35).contains(mixed.faults["corrupt"] ?? 0), "\(mixed.faults)")
        #expect(run(FaultPlan(copies: 0.05, corrupt: 0.02)).frames.map(\.payload) == mixed.frames.map(\.payload))
    }
}

@Suite struct EnvelopeEncodingTests {
    /// The simulator's envelopes, read back by the gateway's own parsers.
    @Test func ttsAndMultiGatewayChirpStackEnvelopesParse() throws {
        var device = DemoDistrict.devices[2]
        device.envelope = .tts
        var traffic = FleetTraffic(devices: [device], seed: 5, simulatedStart: 1_795_000_000_000, stepMillis: 900_000)
        let tts = traffic.next()
        let topic = tts.messages[0].topic
        #expect(topic == "v3/city-pilot@ttn/devices/eui-\(device.devEUI)/up")
        guard case let .uplink(uplink)? = try? TTSEnvelope().parse(topic: topic, message: tts.messages[0].payload) else {
            Issue.record("TTS envelope did not parse"); return
        }
        #expect(uplink.device == device.devEUI && uplink.fCnt == 0 && uplink.fPort == tts.frame.fPort && uplink.payload == tts.frame.payload)
        #expect(uplink.networkTime == 1_795_000_000_000)

        var chirp = FleetTraffic(devices: DemoDistrict.devices, seed: 5, simulatedStart: 1_795_000_000_000, stepMillis: 900_000)
        var gatewaysSeen: Set<Int> = []
        for _ in 0..<30 {
            let next = chirp.next()
            guard case let .uplink(uplink)? = try? ChirpStackEnvelope().parse(topic: next.messages[0].topic, message: next.messages[0].payload) else {
                Issue.record("ChirpStack envelope did not parse"); return
            }
            #expect(uplink.payload == next.frame.payload)
            gatewaysSeen.insert(String(decoding: next.messages[0].payload, as: UTF8.self).components(separatedBy: "\"gatewayId\"").count - 1)
        }
        #expect(gatewaysSeen == [1, 2, 3], "one to three gateways hear a frame")
    }

    @Test func aBatterySwapRestartsTheFrameCounter() {
        var traffic = FleetTraffic(devices: [DemoDistrict.devices[0]], seed: 9, simulatedStart: 1_795_000_000_000, stepMillis: 900_000,
                                   faults: FaultPlan(fcntReset: 0.2))
        let counters = (0..<50).map { _ in traffic.next().frame.fCnt }
        #expect(counters.first == 0 && counters.contains { $0 > 3 })
        #expect(zip(counters, counters.dropFirst()).contains { $1 == 0 && $0 > 0 }, "\(counters)")
        #expect((traffic.injected["fcnt_reset"] ?? 0) > 0)
    }
}
