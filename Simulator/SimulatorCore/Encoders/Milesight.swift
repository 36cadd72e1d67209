extension VendorEncoders {
    /// One Milesight channel: `[id][type][data LE]` (codecs.md §2).
    public enum MilesightChannel: Sendable {
        case battery(percent: Int)                 // 01 75 u8
        case temperature(deciC: Int)               // 03 67 s16 /10 °C
        case humidity(halfPercent: Int)            // 04 68 u8 /2 %
        case distance(millimetres: Int)            // 03 82 u16 mm (EM310-UDL, EM500-UDL)
        case position(tilted: Bool)                // 04 00 u8 (EM310-UDL)
        case distanceEM400(millimetres: Int)       // 04 82 u16 mm (EM400-UDL)
        case positionEM400(tilted: Bool)           // 05 00 u8 (EM400-UDL)

        var bytes: [UInt8] {
            switch self {
            case let .battery(p): return [0x01, 0x75, UInt8(truncatingIfNeeded: p)]
            case let .temperature(t): return [0x03, 0x67] + le16(t)
            case let .humidity(h): return [0x04, 0x68, UInt8(truncatingIfNeeded: h)]
            case let .distance(mm): return [0x03, 0x82] + le16(mm)
            case let .position(tilted): return [0x04, 0x00, tilted ? 1 : 0]
            case let .distanceEM400(mm): return [0x04, 0x82] + le16(mm)
            case let .positionEM400(tilted): return [0x05, 0x00, tilted ? 1 : 0]
            }
        }
    }

    public static func milesight(_ channels: [MilesightChannel]) -> [UInt8] { channels.flatMap(\.bytes) }

    /// Milesight EM310-UDL: 01 75 battery %, 03 82 distance u16 LE mm.
    public static func milesightUltrasonic(batteryPercent: Int, distanceMillimetres: Int) -> [UInt8] {
        milesight([.battery(percent: batteryPercent), .distance(millimetres: distanceMillimetres)])
    }

    /// The identity a Milesight NB-IoT device writes into every frame header.
    public struct CellularIdentity: Sendable, Equatable {
        public var id: Int = 1
        public var firmware = "0101", hardware = "0110"
        public var serial: String
        public var imei: String, imsi: String, iccid: String

        public init(id: Int = 1, firmware: String = "0101", hardware: String = "0110", serial: String, imei: String, imsi: String, iccid: String) {
            self.id = id
            self.firmware = firmware
            self.hardware = hardware
            self.serial = serial
            self.imei = imei
            self.imsi = imsi
            self.iccid = iccid
        }
    }

    /// The Milesight NB-IoT ("-cellular") frame (codecs.md §2a): big-endian
    /// header with ASCII identity fields, then the LoRaWAN channel payload.
    /// `length` is written as total − 5, as in the vendor's EM400-UDL sample.
    public static func milesightNBIoT(_ identity: CellularIdentity, frameCount: UInt16, signalQuality: UInt8, payload: [UInt8],
                                      flag: UInt8 = 0, protocolVersion: UInt8 = 1) -> [UInt8] {
        func ascii(_ text: String, _ size: Int) -> [UInt8] {
            let bytes = Array(text.utf8.prefix(size))
            return bytes + [UInt8](repeating: 0x30, count: size - bytes.count)
        }
        let total = 86 + payload.count
        var frame: [UInt8] = [0x02] + be16(identity.id) + be16(total - 5) + [flag] + be16(Int(frameCount)) + [protocolVersion]
        frame += ascii(identity.firmware, 4) + ascii(identity.hardware, 4) + ascii(identity.serial, 16)
        frame += ascii(identity.imei, 15) + ascii(identity.imsi, 15) + ascii(identity.iccid, 20)
        frame += [signalQuality] + be16(payload.count) + payload
        return frame
    }
}
