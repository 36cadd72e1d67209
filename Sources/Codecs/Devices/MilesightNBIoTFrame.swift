import Readings

/// The Milesight NB-IoT ("-cellular") frame: a big-endian/ASCII header, then
/// the same little-endian channel payload as the LoRaWAN sensors. Spec:
/// Milesight-IoT/SensorDecoders `em-series/em400-udl/README.md` (NB-IoT Data Frame).
public struct MilesightNBIoTFrame: Sendable, Equatable {
    public var frameCount: UInt16
    public var firmwareVersion: String
    public var hardwareVersion: String
    public var serialNumber: String
    public var imei: String
    public var imsi: String
    public var iccid: String
    public var signalQuality: UInt8
    /// The channel payload (decode it with the device's Milesight codec).
    public var payload: [UInt8]

    static let headerLength = 86

    /// Parses a frame; nil when the bytes do not start like one (no 0x02 start flag).
    public static func looksLikeFrame(_ bytes: [UInt8]) -> Bool {
        bytes.count >= headerLength && bytes[0] == 0x02
    }

    public static func parse(_ bytes: [UInt8]) throws(DecodeError) -> MilesightNBIoTFrame {
        var reader = ByteReader(bytes)
        let start = try reader.u8("start flag")
        guard start == 0x02 else { throw .invalid("Milesight NB-IoT frame: start flag 0x\(hex(start)), expected 0x02") }
        try reader.skip(2, "id")
        try reader.skip(2, "length")  // inconsistent between models: not relied on
        try reader.skip(1, "flag")
        let frameCount = try reader.u16be("frame counter")
        try reader.skip(1, "protocol version")
        func ascii(_ count: Int, _ field: String) throws(DecodeError) -> String {
            var text = ""
            for _ in 0..<count {
                let byte = try reader.u8(field)
                guard byte >= 0x20 && byte < 0x7F else { throw .invalid("Milesight NB-IoT frame: \(field) is not ASCII") }
                text.unicodeScalars.append(Unicode.Scalar(byte))
            }
            return text
        }
        let firmware = try ascii(4, "firmware version")
        let hardware = try ascii(4, "hardware version")
        let serial = try ascii(16, "serial number")
        let imei = try ascii(15, "IMEI")
        let imsi = try ascii(15, "IMSI")
        let iccid = try ascii(20, "ICCID")
        let csq = try reader.u8("CSQ")
        let length = Int(try reader.u16be("data length"))
        guard length <= reader.remaining else {
            throw .truncated(field: "sensor payload", offset: reader.offset, needed: length, available: reader.remaining)
        }
        var payload: [UInt8] = []
        for _ in 0..<length { payload.append(try reader.u8("sensor payload")) }
        guard imei.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { throw .invalid("Milesight NB-IoT frame: IMEI '\(imei)' is not 15 digits") }
        return MilesightNBIoTFrame(frameCount: frameCount, firmwareVersion: firmware, hardwareVersion: hardware, serialNumber: serial,
                                   imei: imei, imsi: imsi, iccid: iccid, signalQuality: csq, payload: payload)
    }
}
