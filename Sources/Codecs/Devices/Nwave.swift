import Readings

/// Nwave NPS405 and NPS310SM parking sensors. The layout depends on the fPort.
/// Specs: TTN lorawan-devices `vendor/nwave/nps405.js` (@62c8acdd: occupied in
/// bit 0; the older @0a254aaa used bit 7), `nps405-codec.yaml`, `nps310sm.js`.
public struct NwaveParkingCodec: PayloadCodec {
    public enum Model: String, Sendable { case nps405 = "nwave-nps405", nps310sm = "nwave-nps310sm" }
    public let model: Model
    public var id: String { model.rawValue }

    public init(model: Model) { self.model = model }

    /// Bits 7..1 of a status byte: the compressed previous-state duration.
    static func notePreviousStateDuration(_ status: UInt8, into result: inout DecodeResult) {
        let c = Int64(status >> 1)
        switch c {
        case ..<90: result.note("previous state lasted {} min", c)
        case 90..<120: result.note("previous state lasted {} min (±4)", 90 + (c - 90) * 5)
        case 120..<127: result.note("previous state lasted {} min (±59)", 240 + (c - 120) * 60)
        default: result.note("previous state lasted 660 min or more")
        }
    }

    public func decode(_ payload: [UInt8], fPort: Int?, into result: inout DecodeResult) throws(DecodeError) {
        var reader = ByteReader(payload)
        switch fPort {
        case 1:
            let status = try reader.u8("status")
            result.add(.occupied, Int64(status & 1))
            if model == .nps405 { Self.notePreviousStateDuration(status, into: &result) }
        case 2:  // heartbeat
            let status = try reader.u8("status")
            result.add(.occupied, Int64(status & 1))
            if model == .nps405, !reader.isAtEnd {
                result.add(.batteryVoltage, 2500 + 4 * Int64(try reader.u8("battery")))
                // s8/2 + 10 °C → 0.01 °C: raw·50 + 1000.
                result.add(.temperature, Int64(try reader.s8("temperature")) * 50 + 1000)
            }
        case 3:  // startup
            let major = try reader.u8("firmware"), minor = try reader.u8("firmware"), patch = try reader.u8("firmware")
            let cause = Int(try reader.u8("reset cause"))
            let causes = model == .nps405
                ? ["rejoin", "watchdog", "power_on", "user_request", "-", "-", "brownout", "other"]
                : ["-", "watchdog", "power_on", "user_request", "brownout", "other"]
            result.note(detail: "startup: firmware \(major).\(minor).\(patch), reset cause \(cause < causes.count ? causes[cause] : "unknown (\(cause))")")
            result.add(.occupied, Int64(try reader.u8("status") & 1))
        case 10 where model == .nps405:  // tag registration
            let status = try reader.u8("status")
            result.add(.occupied, Int64(status & 1))
            Self.notePreviousStateDuration(status, into: &result)
            let tagBattery = try reader.u8("tag battery")
            let tag = (0..<4).map { _ in (try? reader.u8("tag id")).map { hex($0) } ?? "" }.joined()
            guard tag.count == 8 else { throw .truncated(field: "tag id", offset: 2, needed: 4, available: payload.count - 2) }
            result.note(detail: "tag \(tag) registered, tag battery \(FixedPoint.decimalString(Int64(tagBattery), decimals: 1)) V")
        case 6:
            result.note("debug frame")
        default:
            throw .unsupportedPort(codec: id, fPort: fPort)
        }
    }
}
