import Readings

/// Bosch Parking Lot Sensor TPS110. The layout depends on the fPort.
/// Spec: TTN lorawan-devices `vendor/bosch/tpl110-0292.js`.
public struct BoschTPS110Codec: PayloadCodec {
    public let id = "bosch-tps110"
    public init() {}

    public func decode(_ payload: [UInt8], fPort: Int?, into result: inout DecodeResult) throws(DecodeError) {
        var reader = ByteReader(payload)
        switch fPort {
        case 1:  // parking status
            result.add(.occupied, Int64(try reader.u8("status") & 1))
        case 2:  // heartbeat, optional temperature s8 °C
            result.add(.occupied, Int64(try reader.u8("status") & 1))
            if !reader.isAtEnd {
                try result.add(.temperature, raw: Int64(try reader.s8("temperature")), times: 100, field: "temperature")
            }
        case 3:  // startup: debug codes, firmware, reset cause, occupancy
            try reader.skip(12, "debug codes")
            let major = try reader.u8("firmware"), minor = try reader.u8("firmware"), patch = try reader.u8("firmware")
            let cause = try reader.u8("reset cause")
            let causes = [1: "watchdog", 2: "power on", 3: "system request", 4: "other"]
            result.note(detail: "startup: firmware \(major).\(minor).\(patch), reset cause \(causes[Int(cause)] ?? "unknown (\(cause))")")
            result.add(.occupied, Int64(try reader.u8("status") & 1))
        case 4:
            result.note("device information frame")
        case 5:
            result.note("usage frame")
        case 6:
            result.note("debug frame")
        default:
            throw .unsupportedPort(codec: id, fPort: fPort)
        }
    }
}
