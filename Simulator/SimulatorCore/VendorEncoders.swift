import Readings

/// The simulator's own payload encoders, written from the vendor specs
/// (`../shared/reference/codecs.md`), not by inverting the gateway's decoders.
/// Inputs are in the metric's canonical counts, chosen so each value is
/// exactly representable in the vendor's resolution.
public enum VendorEncoders {
    static func be16(_ v: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)] }
    static func le16(_ v: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)] }

    /// Elsys ERS CO2: 01 temp s16 BE /10 °C, 02 RH u8 %, 04 light u16, 05 motion u8, 06 CO2 u16, 07 VDD u16 mV.
    public static func elsys(temperatureCentiC: Int, humidityPercent: Int, light: Int, motion: Int, co2: Int, batteryMillivolts: Int) -> [UInt8] {
        [0x01] + be16(temperatureCentiC / 10) + [0x02, UInt8(humidityPercent)] + [0x04] + be16(light)
            + [0x05, UInt8(motion)] + [0x06] + be16(co2) + [0x07] + be16(batteryMillivolts)
    }

    /// Milesight EM310-UDL: 01 75 battery %, 03 82 distance u16 LE mm.
    public static func milesightUltrasonic(batteryPercent: Int, distanceMillimetres: Int) -> [UInt8] {
        [0x01, 0x75, UInt8(batteryPercent), 0x03, 0x82] + le16(distanceMillimetres)
    }

    /// Bosch TPS110 parking status on fPort 1: bit 0 = occupied.
    public static func boschParkingStatus(occupied: Bool) -> [UInt8] { [occupied ? 0x01 : 0x00] }

    /// Dragino LHT65 on fPort 2: battery (status bits 15..14 = 3 "good") mV, SHT temp s16 /100,
    /// SHT RH u16 /10, ext type 1 (DS18B20) with the probe temp s16 /100, two unused bytes 7FFF.
    public static func draginoLHT65(batteryMillivolts: Int, temperatureCentiC: Int, humidityDeciPercent: Int, probeCentiC: Int?) -> [UInt8] {
        let battery = 0xC000 | (batteryMillivolts & 0x3FFF)
        let probe = probeCentiC.map { be16($0) } ?? [0x7F, 0xFF]
        return be16(battery) + be16(temperatureCentiC) + be16(humidityDeciPercent) + [0x01] + probe + [0x7F, 0xFF]
    }

    /// Cayenne LPP: temperature (0x67, 0.1 °C) ch 1, humidity (0x68, 0.5 %) ch 2, barometer (0x73, 0.1 hPa) ch 3.
    public static func cayenne(temperatureCentiC: Int, humidityCentiPercent: Int, pressureCentiHectopascal: Int) -> [UInt8] {
        [0x01, 0x67] + be16(temperatureCentiC / 10) + [0x02, 0x68, UInt8(humidityCentiPercent / 50)]
            + [0x03, 0x73] + be16(pressureCentiHectopascal / 10)
    }
}
