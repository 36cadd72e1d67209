extension VendorEncoders {
    /// Bosch TPS110 parking status on fPort 1: bit 0 = occupied.
    public static func boschParkingStatus(occupied: Bool) -> [UInt8] { [occupied ? 0x01 : 0x00] }
}
