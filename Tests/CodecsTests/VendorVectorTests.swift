import Codecs
import Foundation
import Readings
import Testing

/// Real payloads from `Fixtures/vectors.json` (vendor-published decodings),
/// checked in canonical fixed-point units. The expected values below are the
/// vendor's published numbers converted to canonical counts by hand
/// (22.6 °C → 2260 in 0.01 °C); the vendor decoders' float artefacts are not truth.
@Suite struct VendorVectorTests {
    struct Vector: Decodable {
        var id: Int
        var fPort: Int?
        var bytes_hex: String
        var expected_status: String
    }

    static let vectors: [Int: Vector] = {
        let url = Bundle.module.url(forResource: "Fixtures/vectors", withExtension: "json")!
        let list = try! JSONDecoder().decode([Vector].self, from: Data(contentsOf: url))
        return Dictionary(uniqueKeysWithValues: list.map { ($0.id, $0) })
    }()

    static func bytes(_ hex: String) -> [UInt8] { Hex.decode(hex)! }

    /// What a vector must decode to: readings as "metric[.channel]=canonical
    /// counts" in payload order, plus phrases its notes must contain for the
    /// published fields that map to no canonical metric (so none is dropped
    /// silently), or the error it must raise.
    struct Expectation {
        var codec: String
        var readings: [String]
        var notes: [String] = []
        var sentinels = 0
        var error: DecodeError? = nil
    }

    /// Every vector whose expected_status is "published", except 24 (AN-303,
    /// decoded by a layout file: GatewayTests checks it) and 32 (an NB-IoT
    /// frame: EnvelopeTests checks it through the NB-IoT envelope).
    static let expectations: [Int: Expectation] = [
        1: .init(codec: "elsys:ers-co2", readings: ["temperature=2260", "relative_humidity=4100", "light=39", "motion=6", "co2=776"]),
        2: .init(codec: "milesight:am307", readings: ["battery_level=92", "temperature=3080", "relative_humidity=5050"], notes: ["activity"]),
        3: .init(codec: "milesight:am307", readings: ["co2=1255", "pressure=100470"], notes: ["tvoc raw 7"]),
        4: .init(codec: "milesight:am319", readings: ["temperature=3080", "relative_humidity=5050", "motion=1", "co2=936", "pressure=100860", "hcho=4", "pm2_5=320", "pm10=480"],
                 notes: ["light level 2", "tvoc raw 37"]),
        6: .init(codec: "milesight:am319", readings: ["temperature=2380", "relative_humidity=6200", "motion=1", "co2=936", "pressure=100860", "hcho=7", "pm2_5=320", "pm10=480"],
                 notes: ["light level 2", "tvoc raw 37"]),
        7: .init(codec: "milesight:em500-co2", readings: ["battery_level=92", "temperature=3080", "relative_humidity=5050", "co2=1127", "pressure=100880"]),
        8: .init(codec: "milesight:em500-co2", readings: ["temperature=2720", "relative_humidity=5650", "co2=1127", "pressure=100880"]),
        10: .init(codec: "decentlab:dl-pm", readings: ["battery_voltage=3109", "pm1=37", "pm2_5=39", "pm10=39", "temperature=2436", "relative_humidity=4163", "pressure=96800"],
                  notes: ["device id 6992", "pm4 39", "particle size 501 nm"]),
        12: .init(codec: "decentlab:dl-pm", readings: ["battery_voltage=3109"], notes: ["device id 6992"]),
        14: .init(codec: "elsys:ers", readings: ["temperature=2260", "relative_humidity=4100", "light=39", "motion=6"]),
        15: .init(codec: "elsys:ers-eye", readings: ["temperature=2260", "relative_humidity=4100", "light=39", "motion=6"], notes: ["occupancy raw 1"]),
        16: .init(codec: "milesight:em300-th", readings: ["battery_level=50", "temperature=2000", "relative_humidity=3000"]),
        17: .init(codec: "milesight:em300-th", readings: ["battery_level=92", "temperature=3080", "relative_humidity=5050"]),
        20: .init(codec: "dragino:lht65", readings: ["battery_voltage=3062", "temperature=2829", "relative_humidity=8860", "temperature.1=2781"]),
        22: .init(codec: "dragino:lht65n", readings: ["battery_voltage=3062", "temperature=2829", "relative_humidity=8860", "temperature.1=2781"]),
        26: .init(codec: "milesight:em310-udl", readings: ["battery_level=92", "distance=2116"], notes: ["position tilt"]),
        27: .init(codec: "milesight:em310-udl", readings: ["battery_level=92", "distance=2116"], notes: ["position tilt"]),
        28: .init(codec: "milesight:em500-udl", readings: ["battery_level=100", "distance=30"]),
        29: .init(codec: "milesight:ws201", readings: ["battery_level=100", "distance=62"], notes: ["remaining 69"]),
        30: .init(codec: "milesight:em400-udl", readings: ["battery_level=92", "temperature=2570", "distance=2116"], notes: ["position tilt"]),
        33: .init(codec: "dragino:ldds75", readings: [], notes: ["No Sensor"], sentinels: 1),
        34: .init(codec: "dragino:ldds75", readings: [], error: .unsupportedPort(codec: "dragino-ldds75", fPort: 42)),
        38: .init(codec: "bosch:tps110", readings: ["occupied=1"]),
        40: .init(codec: "bosch:tps110", readings: ["occupied=1"], notes: ["firmware 0.29.2", "system request"]),
        41: .init(codec: "nwave:nps405", readings: ["occupied=1"], notes: ["lasted 74 min"]),
        42: .init(codec: "nwave:nps405", readings: ["occupied=1"], notes: ["lasted 160 min (±4)", "tag 1F345678", "tag battery 3.2 V"]),
        44: .init(codec: "nwave:nps405", readings: ["occupied=0"], notes: ["firmware 2.4.9", "power_on"]),
        45: .init(codec: "nwave:nps310sm", readings: ["occupied=1"]),
        47: .init(codec: "nwave:nps310sm", readings: ["occupied=0"], notes: ["firmware 1.13.0", "power_on"]),
        48: .init(codec: "cayenne-lpp", readings: ["temperature.3=2720", "temperature.5=2550"]),
        50: .init(codec: "cayenne-lpp", readings: [], notes: ["channel 6: accelerometer"]),
        51: .init(codec: "cayenne-lpp", readings: [], notes: ["channel 1: GPS"]),
        52: .init(codec: "cayenne-lpp", readings: ["temperature.3=2720", "temperature.5=2550"]),
        54: .init(codec: "cayenne-lpp",
                  readings: ["light.5=500", "motion.6=50", "temperature.7=-1560", "relative_humidity.8=4950", "pressure.10=107350"],
                  notes: ["channel 1: digital input 255", "channel 2: digital output 100", "channel 3: analog input 5450", "channel 4: analog output -5450",
                          "channel 9: accelerometer", "channel 11: gyrometer", "channel 12: GPS"]),
        55: .init(codec: "cayenne-lpp",
                  readings: ["light.3=10", "light.5=1000", "motion.3=5", "motion.5=3", "temperature.3=2720", "temperature.5=2550",
                             "relative_humidity.3=2050", "relative_humidity.5=7500", "pressure.3=10550", "pressure.5=25000",
                             "battery_voltage.3=10", "battery_voltage.5=655340", "distance.3=272", "distance.5=16909060"],
                  notes: ["channel 3: digital input 100", "channel 5: analog output 1000", "channel 5: concentration 65534 ppm", "channel 1: GPS",
                          "channel 5: switch 1", "channel 3: colour"]),
    ]

    @Test func everyPublishedVectorDecodesToThePublishedValues() throws {
        var checked = 0
        for (id, expectation) in Self.expectations.sorted(by: { $0.key < $1.key }) {
            let vector = try #require(Self.vectors[id], "vector \(id) missing from the fixture")
            #expect(vector.expected_status == "published", "vector \(id)")
            let codec = try #require(CodecCatalog.builtIn.codec(expectation.codec), "codec \(expectation.codec)")
            let bytes = Self.bytes(vector.bytes_hex)
            if let error = expectation.error {
                #expect(throws: error) { try codec.decode(bytes, fPort: vector.fPort) }
                checked += 1
                continue
            }
            let result = try codec.decode(bytes, fPort: vector.fPort)
            let got = result.values.map { "\($0.metric.name)\($0.channel.map { ".\($0)" } ?? "")=\($0.value)" }
            #expect(got == expectation.readings, "vector \(id) (\(expectation.codec))")
            for phrase in expectation.notes {
                #expect(result.noteTexts.contains { $0.contains(phrase) }, "vector \(id): no note with '\(phrase)' in \(result.noteTexts)")
            }
            #expect(result.sentinels == expectation.sentinels, "vector \(id)")
            checked += 1
        }
        // None may drop out silently: every published vector is either here or
        // named as checked elsewhere.
        let published = Set(Self.vectors.values.filter { $0.expected_status == "published" }.map(\.id))
        #expect(published.count == 37)
        #expect(published.subtracting(Self.expectations.keys) == [24, 32])
        #expect(checked == 35)
    }

    @Test func vectorsWithoutPublishedOutputStillDecode() throws {
        // 13: a real AM307 uplink; 25: an EM300-TH NB-IoT frame (several records in one payload).
        let am307 = try MilesightCodec(model: .am307).decode(Self.bytes(try #require(Self.vectors[13]).bytes_hex), fPort: 85)
        #expect(am307.values.contains { $0.metric == .co2 })
        let event = try NBIoTEnvelope().parse(topic: "nbiot/up", message: Self.bytes(try #require(Self.vectors[25]).bytes_hex))
        guard case let .uplink(uplink) = event else { Issue.record("not an uplink"); return }
        let records = try MilesightCodec(model: .em300th).decode(uplink.payload, fPort: nil)
        #expect(records.values.filter { $0.metric == .temperature }.count == 5)
    }

    @Test func notesWhatItDoesNotMap() throws {
        // AM307 older firmware: 05 6A activity is surfaced, not silently dropped.
        let result = try MilesightCodec(model: .am307).decode(Self.bytes("01755C03673401046865056A4900"), fPort: 85)
        #expect(result.noteTexts.contains { $0.contains("activity") })
        // EM310 tilt is noted.
        let tilt = try MilesightCodec(model: .em310udl).decode(Self.bytes("01755C03824408040001"), fPort: 85)
        #expect(tilt.noteTexts.contains("position tilt"))
        // The family codec does not guess what 05 00 means.
        let family = try MilesightCodec().decode(Self.bytes("050001"), fPort: 85)
        #expect(family.values.isEmpty && family.notes.count == 1)
    }
}

@Suite struct CodecBadInputTests {
    @Test func sentinelsYieldNoReading() throws {
        // LHT65 probe 0x7FFF = no reading (a real uplink shows it as 327.67 °C).
        let result = try DraginoLHT65Codec().decode(VendorVectorTests.bytes("CBF60B0D0376017FFF7FFF"), fPort: 2)
        #expect(result.sentinels == 1)
        #expect(!result.values.contains { $0.channel == 1 })
        // Milesight temperature 0x8001 = collection error.
        let milesight = try MilesightCodec(model: .em320th).decode(VendorVectorTests.bytes("03670180"), fPort: 85)
        #expect(milesight.values.isEmpty && milesight.sentinels == 1)
    }

    @Test func wrongPortAndTruncationAreReasons() {
        #expect(throws: DecodeError.unsupportedPort(codec: "dragino-lht65", fPort: 42)) {
            try DraginoLHT65Codec().decode(VendorVectorTests.bytes("0E1C0B05"), fPort: 42)
        }
        #expect(throws: DecodeError.self) { try ElsysCodec().decode([0x01, 0x00], fPort: 1) }
        #expect(throws: DecodeError.self) { try CayenneLPPCodec().decode([0x03, 0x67, 0x01], fPort: 1) }
        #expect(throws: DecodeError.self) { try BoschTPS110Codec().decode([0x01], fPort: 9) }
        #expect(throws: DecodeError.noPayload) { try ElsysCodec().decode([], fPort: 1) }
    }

    @Test func unknownTagKeepsWhatCameBefore() throws {
        let result = try ElsysCodec().decode(VendorVectorTests.bytes("0100E23D01020304"), fPort: 1)
        #expect(result.values.map(\.value) == [2260])
        #expect(result.noteTexts.last?.contains("unknown Elsys type 0x3D") == true)
        // Unknown at the very first byte: nothing decoded is an error.
        #expect(throws: DecodeError.self) { try ElsysCodec().decode([0x3D, 0, 0, 0, 0], fPort: 1) }
    }

    @Test func randomBytesNeverTrap() {
        var generator = SystemRandomNumberGenerator()
        let codecs = CodecCatalog.builtIn.ids.compactMap { CodecCatalog.builtIn.codec($0) }
        for _ in 0..<3000 {
            let bytes = (0..<Int.random(in: 0...24, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let port = Int.random(in: 0...6, using: &generator)
            for codec in codecs { _ = try? codec.decode(bytes, fPort: port) }
        }
    }
}
