import Codecs
import Foundation
import Readings
import SimulatorCore
import Testing

@Suite struct EncoderTests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02X", $0) }.joined() }

    /// Encoding the published values of real vectors (reference vectors.json) gives the published bytes.
    @Test func encodersReproducePublishedBytes() {
        // Vector 14, Elsys ERS: 22.6 °C, 41 %, light 39, motion 6 (the encoder appends CO2 and VDD; compare the prefix).
        let elsys = VendorEncoders.elsys(temperatureCentiC: 2260, humidityPercent: 41, light: 39, motion: 6, co2: 776, batteryMillivolts: 3600)
        #expect(Self.hex(elsys).hasPrefix("0100E202290400270506060308"))  // vector 1 (ERS CO2), byte for byte
        // Vector 26 without its tilt channel: EM310-UDL battery 92, distance 2116.
        #expect(Self.hex(VendorEncoders.milesightUltrasonic(batteryPercent: 92, distanceMillimetres: 2116)) == "01755C03824408")
        // Vector 38: Bosch TPS110 fPort 1, occupied.
        #expect(Self.hex(VendorEncoders.boschParkingStatus(occupied: true)) == "01")
        // Vector 20: LHT65, battery 3062 mV with status 3, 28.29 °C, 88.6 %, probe 27.81 °C.
        #expect(Self.hex(VendorEncoders.draginoLHT65(batteryMillivolts: 3062, temperatureCentiC: 2829, humidityDeciPercent: 886, probeCentiC: 2781)) == "CBF60B0D0376010ADD7FFF")
    }

    @Test func framesDecodeToTheValuesTheManifestRecords() throws {
        var model = SignalModel(seed: 7)
        for (index, device) in DemoDistrict.devices.enumerated() {
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
