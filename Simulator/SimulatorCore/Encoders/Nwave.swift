extension VendorEncoders {
    /// Nwave NPS405 status on fPort 1 (decoder @62c8acdd): bit 0 occupied,
    /// bits 7..1 the previous state's duration compressed: under 90 min
    /// exact, to 240 in 5-minute steps, to 660 in hours, then "overflow".
    public static func nwaveParkingStatus(occupied: Bool, previousStateMinutes minutes: Int) -> [UInt8] {
        let code: Int
        switch minutes {
        case ..<0: code = 0
        case ..<90: code = minutes
        case ..<240: code = 90 + (minutes - 90) / 5
        case ..<660: code = 120 + (minutes - 240) / 60
        default: code = 127
        }
        return [UInt8(code << 1) | (occupied ? 1 : 0)]
    }
}
