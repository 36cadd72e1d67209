import Uplink
import Foundation
import Readings
import Testing

@Suite struct DerivedValuesTests {
    /// The float Magnus–Sonntag formula, as the reference the integer version must match within 0.01 °C.
    static func magnus(_ t: Double, _ rh: Double) -> Double {
        let gamma = log(rh / 100) + 17.62 * t / (243.12 + t)
        return 243.12 * gamma / (17.62 - gamma)
    }

    @Test func dewPointMatchesTheMagnusFormula() throws {
        #expect(DerivedValues.dewPoint(temperature: 20_00, humidity: 50_00) == 9_26)
        var worst = 0.0
        for t in stride(from: -4000, through: 5000, by: 137) {
            for h in stride(from: 100, through: 10_000, by: 97) {
                let value = try #require(DerivedValues.dewPoint(temperature: Int64(t), humidity: Int64(h)))
                worst = max(worst, abs(Double(value) / 100 - Self.magnus(Double(t) / 100, Double(h) / 100)))
            }
        }
        #expect(worst <= 0.01, "worst difference \(worst) °C")
        #expect(DerivedValues.dewPoint(temperature: 20_00, humidity: 0) == nil)
        #expect(DerivedValues.dewPoint(temperature: Int64.max, humidity: 50_00) == nil)
    }

    @Test func fillLevelFromDistance() {
        // A 1000 mm bin, sensor 100 mm above the rim.
        #expect(DerivedValues.fillLevel(distance: 1100, depth: 1000, offset: 100) == 0)
        #expect(DerivedValues.fillLevel(distance: 600, depth: 1000, offset: 100) == 50_00)
        #expect(DerivedValues.fillLevel(distance: 50, depth: 1000, offset: 100) == 100_00)      // clamped
        #expect(DerivedValues.fillLevel(distance: 5000, depth: 1000, offset: 100) == 0)         // clamped
        #expect(DerivedValues.fillLevel(distance: 767, depth: 900, offset: 0) == 14_78)         // 133/900 = 14.777… → 14.78
        #expect(DerivedValues.fillLevel(distance: Int64.min, depth: 1000, offset: 1) == nil)
    }

    @Test func derivedPerKind() {
        let damp = DerivedValues.derive([DecodedValue(metric: .temperature, value: 20_00), DecodedValue(metric: .relativeHumidity, value: 85_00),
                                         DecodedValue(metric: .temperature, channel: 1, value: 5_00)], context: .init(kind: .damp))
        #expect(damp.map(\.metric) == [.dewPoint, .mouldRisk])
        #expect(damp.last?.value == 1)
        let bin = DerivedValues.derive([DecodedValue(metric: .distance, value: 600)], context: .init(kind: .wasteBin, binDepthMillimetres: 1000, sensorOffsetMillimetres: 100))
        #expect(bin == [DecodedValue(metric: .fillLevel, value: 50_00)])
        #expect(DerivedValues.derive([DecodedValue(metric: .distance, value: 600)], context: .init(kind: .wasteBin)).isEmpty)
    }
}
