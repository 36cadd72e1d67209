/// A canonical metric: one name, one unit (UN/CEFACT common code, as NGSI-LD
/// `unitCode` and SensorThings `unitOfMeasurement` expect) and one decimal step.
///
/// Every value of a metric is an `Int64` count of `10^-decimals` of its unit, so
/// `temperature` 2135 means 21.35 °C. No floating point is used anywhere between
/// the payload and the hub.
public struct Metric: Hashable, Sendable, CustomStringConvertible {
    /// The name used in config, storage, logs and hub bodies (`pm2_5`).
    public let name: String
    /// UN/CEFACT common code (`CEL`, `P1`, `GQ`, ...).
    public let unitCode: String
    /// Human symbol for hub metadata (`°C`, `%`, `µg/m³`).
    public let unitSymbol: String
    /// The value is a count of 10^-decimals units.
    public let decimals: Int
    /// The physically plausible range, in canonical counts. A decoded value
    /// outside it is quarantined as implausible rather than stored.
    public let plausible: ClosedRange<Int64>

    public var description: String { name }

    public init(name: String, unitCode: String, unitSymbol: String, decimals: Int, plausible: ClosedRange<Int64>) {
        self.name = name
        self.unitCode = unitCode
        self.unitSymbol = unitSymbol
        self.decimals = decimals
        self.plausible = plausible
    }

    public static func == (a: Metric, b: Metric) -> Bool { a.name == b.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }
}

extension Metric {
    // The canonical table. Ranges are the sensors' physical limits, widened a
    // little, not legal limits: they catch garbage, not bad air.
    public static let temperature = Metric(name: "temperature", unitCode: "CEL", unitSymbol: "°C", decimals: 2, plausible: -60_00...150_00)
    public static let relativeHumidity = Metric(name: "relative_humidity", unitCode: "P1", unitSymbol: "%", decimals: 2, plausible: 0...100_00)
    public static let co2 = Metric(name: "co2", unitCode: "59", unitSymbol: "ppm", decimals: 0, plausible: 0...40_000)
    public static let pm1 = Metric(name: "pm1", unitCode: "GQ", unitSymbol: "µg/m³", decimals: 1, plausible: 0...10_000_0)
    public static let pm2_5 = Metric(name: "pm2_5", unitCode: "GQ", unitSymbol: "µg/m³", decimals: 1, plausible: 0...10_000_0)
    public static let pm10 = Metric(name: "pm10", unitCode: "GQ", unitSymbol: "µg/m³", decimals: 1, plausible: 0...10_000_0)
    public static let tvoc = Metric(name: "tvoc", unitCode: "61", unitSymbol: "ppb", decimals: 0, plausible: 0...100_000)
    public static let hcho = Metric(name: "hcho", unitCode: "GP", unitSymbol: "mg/m³", decimals: 2, plausible: 0...100_00)
    public static let no2 = Metric(name: "no2", unitCode: "GQ", unitSymbol: "µg/m³", decimals: 1, plausible: 0...10_000_0)
    public static let pressure = Metric(name: "pressure", unitCode: "A97", unitSymbol: "hPa", decimals: 2, plausible: 300_00...1_200_00)
    public static let light = Metric(name: "light", unitCode: "LUX", unitSymbol: "lx", decimals: 0, plausible: 0...200_000)
    public static let distance = Metric(name: "distance", unitCode: "MMT", unitSymbol: "mm", decimals: 0, plausible: 0...20_000)
    public static let fillLevel = Metric(name: "fill_level", unitCode: "P1", unitSymbol: "%", decimals: 2, plausible: 0...100_00)
    public static let occupied = Metric(name: "occupied", unitCode: "C62", unitSymbol: "1", decimals: 0, plausible: 0...1)
    public static let batteryVoltage = Metric(name: "battery_voltage", unitCode: "2Z", unitSymbol: "mV", decimals: 0, plausible: 0...20_000)
    public static let batteryLevel = Metric(name: "battery_level", unitCode: "P1", unitSymbol: "%", decimals: 0, plausible: 0...100)
    public static let motion = Metric(name: "motion", unitCode: "C62", unitSymbol: "1", decimals: 0, plausible: 0...65_535)
    /// Derived for damp sensors from temperature and humidity (Magnus formula).
    public static let dewPoint = Metric(name: "dew_point", unitCode: "CEL", unitSymbol: "°C", decimals: 2, plausible: -90_00...100_00)
    /// Derived for damp sensors: 1 while relative humidity is at or above 80 %.
    public static let mouldRisk = Metric(name: "mould_risk", unitCode: "C62", unitSymbol: "1", decimals: 0, plausible: 0...1)

    /// Every canonical metric, by name. Config files and layout codecs name
    /// metrics; an unknown name is a config error.
    public static let all: [Metric] = [
        .temperature, .relativeHumidity, .co2, .pm1, .pm2_5, .pm10, .tvoc, .hcho, .no2,
        .pressure, .light, .distance, .fillLevel, .occupied, .batteryVoltage, .batteryLevel, .motion, .dewPoint, .mouldRisk,
    ]

    public static let byName: [String: Metric] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    public static func named(_ name: String) -> Metric? { byName[name] }
}
