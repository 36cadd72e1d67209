import Readings

/// The simulator's own payload encoders, written from the vendor specs
/// (`../shared/reference/codecs.md`), not by inverting the gateway's decoders.
/// Inputs are in the vendor's raw units (the resolution the device sends),
/// so each value is exactly representable. One file per vendor, mirroring
/// `Sources/Codecs/Devices/`.
public enum VendorEncoders {
    static func be16(_ v: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)] }
    static func le16(_ v: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)] }
    static func be24(_ v: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: v >> 16)] + be16(v) }
}
