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

    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    /// (vector id, codec id, expected "metric[.channel]=canonical counts").
    static let cases: [(Int, String, [String])] = [
        (1, "elsys:ers-co2", ["temperature=2260", "relative_humidity=4100", "light=39", "motion=6", "co2=776"]),
        (14, "elsys:ers", ["temperature=2260", "relative_humidity=4100", "light=39", "motion=6"]),
        (15, "elsys:ers-eye", ["temperature=2260", "relative_humidity=4100", "light=39", "motion=6"]),
        (2, "milesight:am307", ["battery_level=92", "temperature=3080", "relative_humidity=5050"]),
        (3, "milesight:am307", ["co2=1255", "pressure=100470"]),
        (4, "milesight:am319", ["temperature=3080", "relative_humidity=5050", "motion=1", "co2=936", "pressure=100860", "hcho=4", "pm2_5=320", "pm10=480"]),
        (7, "milesight:em500-co2", ["battery_level=92", "temperature=3080", "relative_humidity=5050", "co2=1127", "pressure=100880"]),
        (8, "milesight:em500-co2", ["temperature=2720", "relative_humidity=5650", "co2=1127", "pressure=100880"]),
        (16, "milesight:em300-th", ["battery_level=50", "temperature=2000", "relative_humidity=3000"]),
        (17, "milesight:em300-th", ["battery_level=92", "temperature=3080", "relative_humidity=5050"]),
        (26, "milesight:em310-udl", ["battery_level=92", "distance=2116"]),
        (28, "milesight:em500-udl", ["battery_level=100", "distance=30"]),
        (30, "milesight:em400-udl", ["battery_level=92", "temperature=2570", "distance=2116"]),
        (20, "dragino:lht65", ["battery_voltage=3062", "temperature=2829", "relative_humidity=8860", "temperature.1=2781"]),
        (22, "dragino:lht65n", ["battery_voltage=3062", "temperature=2829", "relative_humidity=8860", "temperature.1=2781"]),
        (38, "bosch:tps110", ["occupied=1"]),
        (40, "bosch:tps110", ["occupied=1"]),
        (48, "cayenne-lpp", ["temperature.3=2720", "temperature.5=2550"]),
        (52, "cayenne-lpp", ["temperature.3=2720", "temperature.5=2550"]),
    ]

    @Test func everyListedVectorDecodesToThePublishedValues() throws {
        var checked = 0
        for (id, codecID, expected) in Self.cases {
            let vector = try #require(Self.vectors[id], "vector \(id) missing from the fixture")
            #expect(vector.expected_status == "published")
            let codec = try #require(CodecCatalog.builtIn.codec(codecID))
            let result = try codec.decode(Self.bytes(vector.bytes_hex), fPort: vector.fPort ?? 85)
            let got = result.values.map { "\($0.metric.name)\($0.channel.map { ".\($0)" } ?? "")=\($0.value)" }
            #expect(got == expected, "vector \(id) (\(codecID))")
            checked += 1
        }
        // None may drop out silently.
        #expect(checked == 19)
    }

    @Test func notesWhatItDoesNotMap() throws {
        // AM307 older firmware: 05 6A activity is surfaced, not silently dropped.
        let result = try MilesightCodec(model: .am307).decode(Self.bytes("01755C03673401046865056A4900"), fPort: 85)
        #expect(result.notes.contains { $0.contains("activity") })
        // EM310 tilt is noted.
        let tilt = try MilesightCodec(model: .em310udl).decode(Self.bytes("01755C03824408040001"), fPort: 85)
        #expect(tilt.notes.contains("position tilt"))
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
        #expect(result.notes.last?.contains("unknown Elsys type 0x3D") == true)
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
