/// A canonical metric: one name, one unit (UN/CEFACT common code, as NGSI-LD
/// `unitCode` and SensorThings `unitOfMeasurement` expect) and one decimal step.
///
/// Every value of a metric is an `Int64` count of `10^-decimals` of its unit, so
/// `temperature` 2135 means 21.35 °C. No floating point is used anywhere between
/// the payload and the hub.
public struct Metric: Hashable, Sendable, CustomStringConvertible {
    /// Index into `Metric.table`: a metric is one byte, so readings are plain
    /// values with no reference counting on the decode path.
    public let index: UInt8

    /// The metric's row of the table. (The accessors below read their field
    /// in place: a copy of the whole row retains each of its strings.)
    public var info: MetricInfo { Metric.table[Int(index)] }
    /// The name used in config, storage, logs and hub bodies (`pm2_5`).
    public var name: String { Metric.table[Int(index)].name }
    /// UN/CEFACT common code (`CEL`, `P1`, `GQ`, ...).
    public var unitCode: String { Metric.table[Int(index)].unitCode }
    /// Human symbol for hub metadata (`°C`, `%`, `µg/m³`).
    public var unitSymbol: String { Metric.table[Int(index)].unitSymbol }
    /// The value is a count of 10^-decimals units.
    public var decimals: Int { Metric.table[Int(index)].decimals }
    /// The physically plausible range, in canonical counts. A decoded value
    /// outside it is quarantined as implausible rather than stored.
    public var plausible: ClosedRange<Int64> { Metric.table[Int(index)].plausible }

    public var description: String { name }
}

/// What the canonical table says about one metric.
public struct MetricInfo: Sendable {
    public let name: String
    public let unitCode: String
    public let unitSymbol: String
    public let decimals: Int
    public let plausible: ClosedRange<Int64>
    /// The NGSI-LD attribute: the Smart Data Models name where a model has
    /// one (`pm25`, `atmosphericPressure`, `fillingLevel`), else the metric
    /// name in camelCase.
    public let ngsiLDName: String
    /// A percentage the Smart Data Models give as a fraction 0..1
    /// (`relativeHumidity`, `fillingLevel`): published with two more decimals.
    public let isFraction: Bool
    /// A state (parking occupancy, mould risk) rather than a level: a zone
    /// rolls it up by each device's last value, not its mean.
    public let isState: Bool

    init(name: String, unitCode: String, unitSymbol: String, decimals: Int, plausible: ClosedRange<Int64>, ngsiLD: String,
         fraction: Bool = false, state: Bool = false) {
        self.name = name
        self.unitCode = unitCode
        self.unitSymbol = unitSymbol
        self.decimals = decimals
        self.plausible = plausible
        ngsiLDName = ngsiLD
        isFraction = fraction
        isState = state
    }
}

extension Metric {
    // The canonical table. Ranges are the sensors' physical limits, widened a
    // little, not legal limits: they catch garbage, not bad air.
    public static let temperature = Metric(index: 0)
    public static let relativeHumidity = Metric(index: 1)
    public static let co2 = Metric(index: 2)
    public static let pm1 = Metric(index: 3)
    public static let pm2_5 = Metric(index: 4)
    public static let pm10 = Metric(index: 5)
    public static let tvoc = Metric(index: 6)
    public static let hcho = Metric(index: 7)
    public static let no2 = Metric(index: 8)
    public static let pressure = Metric(index: 9)
    public static let light = Metric(index: 10)
    public static let distance = Metric(index: 11)
    public static let fillLevel = Metric(index: 12)
    public static let occupied = Metric(index: 13)
    public static let batteryVoltage = Metric(index: 14)
    public static let batteryLevel = Metric(index: 15)
    public static let motion = Metric(index: 16)
    /// Derived for damp sensors from temperature and humidity (Magnus formula).
    public static let dewPoint = Metric(index: 17)
    /// Derived for damp sensors: 1 while relative humidity is at or above 80 %.
    public static let mouldRisk = Metric(index: 18)

    /// The canonical table, in `index` order.
    public static let table: [MetricInfo] = [
        MetricInfo(name: "temperature", unitCode: "CEL", unitSymbol: "°C", decimals: 2, plausible: -60_00...150_00, ngsiLD: "temperature"),
        MetricInfo(name: "relative_humidity", unitCode: "P1", unitSymbol: "%", decimals: 2, plausible: 0...100_00, ngsiLD: "relativeHumidity", fraction: true),
        MetricInfo(name: "co2", unitCode: "59", unitSymbol: "ppm", decimals: 0, plausible: 0...40_000, ngsiLD: "co2"),
        MetricInfo(name: "pm1", unitCode: "GQ", unitSymbol: "µg/m³", decimals: 1, plausible: 0...10_000_0, ngsiLD: "pm1"),
        MetricInfo(name: "pm2_5", unitCode: "GQ", unitSymbol: "µg/m³", decimals: 1, plausible: 0...10_000_0, ngsiLD: "pm25"),
        MetricInfo(name: "pm10", unitCode: "GQ", unitSymbol: "µg/m³", decimals: 1, plausible: 0...10_000_0, ngsiLD: "pm10"),
        MetricInfo(name: "tvoc", unitCode: "61", unitSymbol: "ppb", decimals: 0, plausible: 0...100_000, ngsiLD: "tvoc"),
        MetricInfo(name: "hcho", unitCode: "GP", unitSymbol: "mg/m³", decimals: 2, plausible: 0...100_00, ngsiLD: "hcho"),
        MetricInfo(name: "no2", unitCode: "GQ", unitSymbol: "µg/m³", decimals: 1, plausible: 0...10_000_0, ngsiLD: "no2"),
        MetricInfo(name: "pressure", unitCode: "A97", unitSymbol: "hPa", decimals: 2, plausible: 300_00...1_200_00, ngsiLD: "atmosphericPressure"),
        MetricInfo(name: "light", unitCode: "LUX", unitSymbol: "lx", decimals: 0, plausible: 0...200_000, ngsiLD: "illuminance"),
        MetricInfo(name: "distance", unitCode: "MMT", unitSymbol: "mm", decimals: 0, plausible: 0...20_000, ngsiLD: "distance"),
        MetricInfo(name: "fill_level", unitCode: "P1", unitSymbol: "%", decimals: 2, plausible: 0...100_00, ngsiLD: "fillingLevel", fraction: true),
        MetricInfo(name: "occupied", unitCode: "C62", unitSymbol: "1", decimals: 0, plausible: 0...1, ngsiLD: "occupied", state: true),
        MetricInfo(name: "battery_voltage", unitCode: "2Z", unitSymbol: "mV", decimals: 0, plausible: 0...20_000, ngsiLD: "batteryVoltage"),
        MetricInfo(name: "battery_level", unitCode: "P1", unitSymbol: "%", decimals: 0, plausible: 0...100, ngsiLD: "batteryLevel"),
        MetricInfo(name: "motion", unitCode: "C62", unitSymbol: "1", decimals: 0, plausible: 0...65_535, ngsiLD: "motion"),
        MetricInfo(name: "dew_point", unitCode: "CEL", unitSymbol: "°C", decimals: 2, plausible: -90_00...100_00, ngsiLD: "dewPoint"),
        MetricInfo(name: "mould_risk", unitCode: "C62", unitSymbol: "1", decimals: 0, plausible: 0...1, ngsiLD: "mouldRisk", state: true),
    ]

    /// Every canonical metric, by name. Config files and layout codecs name
    /// metrics; an unknown name is a config error.
    public static let all: [Metric] = (0..<table.count).map { Metric(index: UInt8($0)) }

    public static let byName: [String: Metric] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    public static func named(_ name: String) -> Metric? { byName[name] }
}
