extension VendorEncoders {
    /// Dragino LHT65 on fPort 2: battery (status bits 15..14 = 3 "good") mV, SHT temp s16 /100,
    /// SHT RH u16 /10, ext type 1 (DS18B20) with the probe temp s16 /100 (7FFF: no reading), two unused bytes 7FFF.
    public static func draginoLHT65(batteryMillivolts: Int, temperatureCentiC: Int, humidityDeciPercent: Int, probeCentiC: Int?) -> [UInt8] {
        let battery = 0xC000 | (batteryMillivolts & 0x3FFF)
        let probe = probeCentiC.map { be16($0) } ?? [0x7F, 0xFF]
        return be16(battery) + be16(temperatureCentiC) + be16(humidityDeciPercent) + [0x01] + probe + [0x7F, 0xFF]
    }

    /// Dragino LDDS75 v1.1.4 on fPort 2 (8 bytes): battery mV (status bits
    /// 15..14 = 3), distance u16 mm (under 20: "Invalid Reading"), interrupt
    /// flag, DS18B20 s16 /10 °C (0 when no probe is fitted), sensor flag 1.
    public static func draginoLDDS75(batteryMillivolts: Int, distanceMillimetres: Int, probeDeciC: Int?, interrupt: Bool = false) -> [UInt8] {
        be16(0xC000 | (batteryMillivolts & 0x3FFF)) + be16(distanceMillimetres) + [interrupt ? 1 : 0] + be16(probeDeciC ?? 0) + [0x01]
    }
}
