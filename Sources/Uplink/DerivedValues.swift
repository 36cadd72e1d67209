import Readings

/// Values the gateway derives from decoded ones, in fixed point. Pure.
public enum DerivedValues {
    /// What a device's registry entry adds to its decoded values.
    public struct Context: Sendable, Equatable {
        public var kind: SensorKind
        /// Depth of a waste bin from its rim to the bottom, mm.
        public var binDepthMillimetres: Int64?
        /// Distance from the ultrasonic sensor down to the bin's rim, mm.
        public var sensorOffsetMillimetres: Int64

        public init(kind: SensorKind, binDepthMillimetres: Int64? = nil, sensorOffsetMillimetres: Int64 = 0) {
            self.kind = kind
            self.binDepthMillimetres = binDepthMillimetres
            self.sensorOffsetMillimetres = sensorOffsetMillimetres
        }
    }

    /// Relative humidity at or above which a damp home is flagged (0.01 %).
    public static let mouldRiskHumidity: Int64 = 80_00

    /// Appends derived values: `fill_level` for bins with a depth, `dew_point`
    /// and `mould_risk` for damp sensors (from the internal sensor's
    /// temperature and humidity, channel none).
    public static func derive(_ values: [DecodedValue], context: Context) -> [DecodedValue] {
        var derived: [DecodedValue] = []
        if context.kind == .wasteBin, let depth = context.binDepthMillimetres {
            for value in values where value.metric == .distance {
                if let fill = fillLevel(distance: value.value, depth: depth, offset: context.sensorOffsetMillimetres) {
                    derived.append(DecodedValue(metric: .fillLevel, channel: value.channel, value: fill, time: value.time))
                }
            }
        }
        if context.kind == .damp {
            // Pair temperature and humidity of the same record (same time).
            for humidity in values where humidity.metric == .relativeHumidity && humidity.channel == nil {
                guard let temperature = values.first(where: { $0.metric == .temperature && $0.channel == nil && $0.time == humidity.time }) else { continue }
                if let dewPoint = dewPoint(temperature: temperature.value, humidity: humidity.value) {
                    derived.append(DecodedValue(metric: .dewPoint, value: dewPoint, time: humidity.time))
                }
                derived.append(DecodedValue(metric: .mouldRisk, value: humidity.value >= mouldRiskHumidity ? 1 : 0, time: humidity.time))
            }
        }
        return derived
    }

    /// Fill level in 0.01 % from the measured distance: the bin is empty when
    /// the sensor sees its bottom (offset + depth) and full at the rim
    /// (offset). Clamped to 0…100 %. Nil for a depth of 0.
    public static func fillLevel(distance: Int64, depth: Int64, offset: Int64) -> Int64? {
        guard depth > 0 else { return nil }
        let (below, o1) = distance.subtractingReportingOverflow(offset)
        let (empty, o2) = depth.subtractingReportingOverflow(below)
        guard !o1, !o2, let fill = FixedPoint.scale(empty, by: 10_000, over: depth) else { return nil }
        return min(max(fill, 0), 10_000)
    }

    /// Dew point in 0.01 °C from temperature (0.01 °C) and relative humidity
    /// (0.01 %), by the Magnus formula with Sonntag's constants
    /// (a = 17.62, b = 243.12 °C): γ = ln(RH) + a·T/(b+T), Td = b·γ/(a−γ).
    ///
    /// Integer only: ln comes from a 32-fractional-bit binary logarithm, so
    /// the result equals the floating-point formula within ±0.01 °C. The
    /// formula itself is within about 0.35 °C of the saturation curve for
    /// −45…60 °C. Nil for humidity ≤ 0 or outside the formula's range.
    public static func dewPoint(temperature: Int64, humidity: Int64) -> Int64? {
        guard humidity > 0, humidity <= 100_00, temperature > -100_00, temperature < 100_00 else { return nil }
        let one: Int128 = 1 << 32
        guard let log2RH = log2Q32(numerator: humidity, denominator: 100_00) else { return nil }
        let ln2Q32: Int128 = 2_977_044_472  // ln 2 · 2^32
        let lnRH = Int128(log2RH) * ln2Q32 / one
        // a·T/(b+T) with T = t/100: 1762·t / (100·(24312 + t)), in Q32.
        let t = Int128(temperature)
        let term = (1762 * t * one) / (100 * (24_312 + t))
        let gamma = lnRH + term
        let a = 1762 * one / 100
        let denominator = a - gamma
        guard denominator > 0 else { return nil }
        // Td in 0.01 °C = 24312 · γ / (a − γ).
        guard let td = FixedPoint.divideRounded(24_312 * gamma, by: denominator), let result = Int64(exactly: td) else { return nil }
        return result
    }

    /// log2(numerator / denominator) in Q32 (scaled by 2^32), by
    /// normalisation and repeated squaring; exact to 32 fractional bits.
    static func log2Q32(numerator: Int64, denominator: Int64) -> Int64? {
        guard numerator > 0, denominator > 0, numerator < 1 << 30, denominator < 1 << 30 else { return nil }
        // Integer part k with 2^k ≤ n/d < 2^(k+1).
        var k: Int64 = 0
        var n = numerator, d = denominator
        while n >= 2 * d { d *= 2; k += 1 }
        while n < d { n *= 2; k -= 1 }
        // y = n/d in [1, 2), Q30.
        var y = (n << 30) / d
        var fraction: Int64 = 0
        for bit in stride(from: 31, through: 0, by: -1) {
            y = (y * y) >> 30
            if y >= 2 << 30 {
                y >>= 1
                fraction |= 1 << bit
            }
        }
        return k << 32 + fraction
    }
}
