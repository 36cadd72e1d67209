import Codecs
import Foundation
import Readings
import SimulatorCore
import Testing

@Suite struct EncoderTests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02X", $0) }.joined() }

    /// Encoding the published values of real vectors (`../shared/reference/vectors.json`,
    /// copied here by id) gives back the published bytes, byte for byte.
    /// Skipped, and why: 2 (AM307: its trailing activity channel is not in
    /// the published values), 25 (no published decoding), 33/34 (LDDS75: the
    /// only published frame is 4 bytes and the vendor decoder's "No Sensor"
    /// carries no values; real v1.1.4 frames are 8), 36 (DDS75-LB: expected
    /// output copied from the LHT65), 37 (Elsys ELT: example commented out in
    /// the source), 40/44/47 (startup frames, not simulated), 42 (NPS405 tag
    /// registration: the decoder that produced it was not retrieved), 52
    /// (TTS output passes through float32: 27.200000762939453; its bytes are
    /// vector 48's, which is covered), 55 (ChirpStack's extended LPP types).
    @Test(arguments: [
        // Elsys (codecs.md §1): 1 ERS CO2, 14 ERS, 15 ERS Eye.
        (1, "0100E202290400270506060308", VendorEncoders.elsys([.temperature(deciC: 226), .humidity(percent: 41), .light(lux: 39), .motion(count: 6), .co2(ppm: 776)])),
        (14, "0100E202290400270506", VendorEncoders.elsys([.temperature(deciC: 226), .humidity(percent: 41), .light(lux: 39), .motion(count: 6)])),
        (15, "0100E2022904002705061101", VendorEncoders.elsys([.temperature(deciC: 226), .humidity(percent: 41), .light(lux: 39), .motion(count: 6), .occupancy(1)])),
        // Milesight (§2): 16/17 EM300-TH, 26/27 EM310-UDL, 30 EM400-UDL.
        (16, "0175320367C80004683C", VendorEncoders.milesight([.battery(percent: 50), .temperature(deciC: 200), .humidity(halfPercent: 60)])),
        (17, "01755C03673401046865", VendorEncoders.milesight([.battery(percent: 92), .temperature(deciC: 308), .humidity(halfPercent: 101)])),
        (26, "01755C03824408040001", VendorEncoders.milesight([.battery(percent: 92), .distance(millimetres: 2116), .position(tilted: true)])),
        (30, "01755C0367010104824408050001", VendorEncoders.milesight([.battery(percent: 92), .temperature(deciC: 257), .distanceEM400(millimetres: 2116), .positionEM400(tilted: true)])),
        // Milesight EM400-UDL NB-IoT frame (§2a): every header field as published.
        (32, "020001005F0000000130313031303131303637343944313930353436393030333138363835303830363438303733353034363030343332323432313331313038393836303431323130323237303036323835370900" + "0E01756403670B0104823B01050001",
         VendorEncoders.milesightNBIoT(.init(id: 1, firmware: "0101", hardware: "0110", serial: "6749D19054690031", imei: "868508064807350",
                                             imsi: "460043224213110", iccid: "89860412102270062857"),
                                       frameCount: 0, signalQuality: 9,
                                       payload: VendorEncoders.milesight([.battery(percent: 100), .temperature(deciC: 267), .distanceEM400(millimetres: 315), .positionEM400(tilted: true)]))),
        // Dragino LHT65 / LHT65N (§4): 20, 22.
        (20, "CBF60B0D0376010ADD7FFF", VendorEncoders.draginoLHT65(batteryMillivolts: 3062, temperatureCentiC: 2829, humidityDeciPercent: 886, probeCentiC: 2781)),
        // Bosch TPS110 (§6) fPort 1: 38.
        (38, "01", VendorEncoders.boschParkingStatus(occupied: true)),
        // Nwave (§7) fPort 1: 41 NPS405 occupied after 74 min free, 45 NPS310SM.
        (41, "95", VendorEncoders.nwaveParkingStatus(occupied: true, previousStateMinutes: 74)),
        (45, "01", VendorEncoders.nwaveParkingStatus(occupied: true, previousStateMinutes: 0)),
        // Cayenne LPP (§8): 48 (= 52's bytes), 50, 51, 54 (TTS unit test, every standard type).
        (48, "03670110056700FF", VendorEncoders.cayenne([(3, .temperature(deciC: 272)), (5, .temperature(deciC: 255))])),
        (50, "067104D2FB2E0000", VendorEncoders.cayenne([(6, .accelerometer(milliG: (1234, -1234, 0)))])),
        (51, "018806765FF2960A0003E8", VendorEncoders.cayenne([(1, .gps(latitudeE4: 423_519, longitudeE4: -879_094, altitudeCentimetres: 1000))])),
        (54, "0100FF0201640302154A0403EAB6056501F40666320767FF640868630971FE58000F06820A7329EF0B8601630231FE660C8807FD8700BEF500086A",
         VendorEncoders.cayenne([(1, .digitalInput(255)), (2, .digitalOutput(100)), (3, .analogInput(centi: 5450)), (4, .analogOutput(centi: -5450)),
                                 (5, .illuminance(lux: 500)), (6, .presence(50)), (7, .temperature(deciC: -156)), (8, .humidity(halfPercent: 99)),
                                 (9, .accelerometer(milliG: (-424, 15, 1666))), (10, .barometer(deciHectopascal: 10735)),
                                 (11, .gyrometer(centiDegreesPerSecond: (355, 561, -410))),
                                 (12, .gps(latitudeE4: 523_655, longitudeE4: 48_885, altitudeCentimetres: 2154))])),
    ] as [(Int, String, [UInt8])])
    func encodersReproducePublishedBytes(vector: Int, published: String, encoded: [UInt8]) {
        #expect(Self.hex(encoded) == published, "vector \(vector)")
    }

    /// The NB-IoT frames the simulator sends are read by the gateway's own
    /// envelope parser, raw and as hex text, with the IMEI as the device.
    @Test func nbiotFramesParseRawAndAsHexText() throws {
        for envelope in [SimulatedDevice.Envelope.nbiot, .nbiotHex] {
            let device = SimulatedDevice.generated(serial: 42, model: .milesightEM300TH, zone: "z", euiPrefix: "", envelope: envelope)
            #expect(device.devEUI == "868508060000042")
            var traffic = FleetTraffic(devices: [device], seed: 3, simulatedStart: 1_795_000_000_000, stepMillis: 900_000)
            for _ in 0..<3 {
                let step = traffic.next()
                #expect(step.messages[0].topic == "nbiot/868508060000042")
                guard case let .uplink(uplink) = try NBIoTEnvelope().parse(topic: step.messages[0].topic, message: step.messages[0].payload) else {
                    Issue.record("not an uplink"); return
                }
                #expect(uplink.device == device.devEUI && uplink.fCnt == step.frame.fCnt && uplink.payload == step.frame.payload)
                let decoded = try #require(CodecCatalog.builtIn.codec(device.model.rawValue)).decode(uplink.payload, fPort: nil)
                #expect(decoded.values.map(\.value).sorted() == step.frame.values.map(\.value).sorted())
            }
            if envelope == .nbiotHex {
                let text = String(decoding: traffic.next().messages[0].payload, as: UTF8.self)
                #expect(text.hasPrefix("02") && text.allSatisfy(\.isHexDigit))
            }
        }
    }

    @Test func framesDecodeToTheValuesTheManifestRecords() throws {
        var model = SignalModel(seed: 7)
        let everyModel = SimulatedDevice.Model.allCases.enumerated().map { SimulatedDevice.generated(serial: $0.offset, model: $0.element, zone: "z", euiPrefix: "a8404103") }
        for (index, device) in everyModel.enumerated() {
            for step in 0..<50 {
                let frame = model.frame(for: device, fCnt: UInt32(step), time: 1_700_000_000_000 + Int64(step * 3_600_000 + index))
                let codec = try #require(CodecCatalog.builtIn.codec(device.model.rawValue))
                let decoded = try codec.decode(frame.payload, fPort: frame.fPort)
                #expect(decoded.values.map { "\($0.metric.name)\($0.channel ?? -1)=\($0.value)" }.sorted()
                        == frame.values.map { "\($0.metric.name)\($0.channel ?? -1)=\($0.value)" }.sorted(), "\(device.name)")
            }
        }
    }

    @Test func seededRunsRepeat() {
        var a = SignalModel(seed: 42), b = SignalModel(seed: 42)
        let device = DemoDistrict.devices[0]
        #expect(a.frame(for: device, fCnt: 0, time: 0) == b.frame(for: device, fCnt: 0, time: 0))
        #expect(a.uuid() == b.uuid())
    }

    @Test func shippedRegistryListsTheDemoFleet() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let shipped = try String(contentsOf: root.appendingPathComponent("Config/devices.toml"), encoding: .utf8)
        #expect(shipped == DemoDistrict.registryTOML())
    }
}
