import Foundation
import Readings

/// A simulated device: identity, the codec the gateway should use, and how
/// it reports.
public struct SimulatedDevice: Sendable, Equatable {
    public enum Model: String, Sendable, CaseIterable {
        case elsysERSCO2 = "elsys:ers-co2"
        case milesightEM310 = "milesight:em310-udl"
        case boschTPS110 = "bosch:tps110"
        case draginoLHT65 = "dragino:lht65"
        case cayenne = "cayenne-lpp"
        case draginoLDDS75 = "dragino:ldds75"
        case nwaveNPS405 = "nwave:nps405"
        case milesightEM300TH = "milesight:em300-th"
        case milesightEM400UDL = "milesight:em400-udl"

        public var kind: SensorKind {
            switch self {
            case .elsysERSCO2: return .airQuality
            case .milesightEM310, .draginoLDDS75, .milesightEM400UDL: return .wasteBin
            case .boschTPS110, .nwaveNPS405: return .parking
            case .draginoLHT65, .milesightEM300TH: return .damp
            case .cayenne: return .generic
            }
        }

        var fPort: Int {
            switch self {
            case .elsysERSCO2, .boschTPS110, .nwaveNPS405: return 1
            case .milesightEM310, .milesightEM300TH, .milesightEM400UDL: return 85
            case .draginoLHT65, .draginoLDDS75: return 2
            case .cayenne: return 3
            }
        }

        var profileName: String {
            switch self {
            case .elsysERSCO2: return "Elsys ERS CO2"
            case .milesightEM310: return "Milesight EM310-UDL"
            case .boschTPS110: return "Bosch TPS110"
            case .draginoLHT65: return "Dragino LHT65"
            case .cayenne: return "Cayenne LPP"
            case .draginoLDDS75: return "Dragino LDDS75"
            case .nwaveNPS405: return "Nwave NPS405"
            case .milesightEM300TH: return "Milesight EM300-TH"
            case .milesightEM400UDL: return "Milesight EM400-UDL"
            }
        }

        /// Milesight sensors also come as NB-IoT ("-cellular") models whose
        /// frame carries the IMEI; the others are LoRaWAN only.
        public var hasCellularVariant: Bool { [.milesightEM310, .milesightEM300TH, .milesightEM400UDL].contains(self) }
    }

    public var devEUI: DeviceID
    public var name: String
    public var model: Model
    public var zone: String
    public var longitude: String
    public var latitude: String
    /// Which network server's envelope carries its uplinks.
    public var envelope: Envelope = .chirpstack
    /// Time between two reports when it is not the fleet's (a scenario group's `interval`).
    public var intervalMillis: Int64?

    /// ChirpStack v4 or TTS v3 JSON events, or an NB-IoT device publishing
    /// its own Milesight frame (raw bytes, or ASCII hex as modems' "hexstring"
    /// modes send it) to `nbiot/{IMEI}`; an NB-IoT device's id is its IMEI.
    public enum Envelope: String, Sendable, CaseIterable {
        case chirpstack, tts, nbiot
        case nbiotHex = "nbiot-hex"

        public var isCellular: Bool { self == .nbiot || self == .nbiotHex }
    }

    public init(devEUI: DeviceID, name: String, model: Model, zone: String, longitude: String, latitude: String, envelope: Envelope = .chirpstack) {
        self.devEUI = devEUI
        self.name = name
        self.model = model
        self.zone = zone
        self.longitude = longitude
        self.latitude = latitude
        self.envelope = envelope
    }
}

extension SimulatedDevice {
    /// Device number `serial` of a generated fleet: DevEUI `euiPrefix` + 8 hex
    /// digits of the serial (an NB-IoT device: IMEI 86850806 + 7 decimal
    /// digits), named `<kind>-<serial>`, placed at exact decimal offsets of up
    /// to ±0.0499° around the demo district's centre.
    public static func generated(serial: Int, model: Model, zone: String, euiPrefix: String, envelope: Envelope = .chirpstack) -> SimulatedDevice {
        let dx = serial % 100 - 50, dy = serial / 100 % 100 - 50
        func offset(_ base: Int, _ delta: Int) -> String { FixedPoint.decimalString(Int64(base + delta * 10), decimals: 4) }
        let id = envelope.isCellular ? "86850806" + decimalDigits(serial % 10_000_000, count: 7) : euiPrefix + Hex.digits(UInt64(serial), count: 8)
        return SimulatedDevice(devEUI: id,
                               name: "\(model.kind.rawValue.replacingOccurrences(of: "_", with: "-"))-\(serial)", model: model, zone: zone,
                               longitude: offset(-37_074, dx), latitude: offset(404_155, dy), envelope: envelope)
    }
}

/// `value` as exactly `count` decimal digits, zero-padded.
func decimalDigits(_ value: Int, count: Int) -> String {
    let text = String(value)
    return String(repeating: "0", count: max(0, count - text.count)) + text
}

extension SimulatedDevice {
    /// The identity fields an NB-IoT device writes into its frame header,
    /// derived from its IMEI (IMSI and ICCID of a test SIM range).
    var cellularIdentity: VendorEncoders.CellularIdentity {
        let digits = String(devEUI.suffix(10))
        return VendorEncoders.CellularIdentity(serial: "6749D1" + digits, imei: devEUI, imsi: "46004" + digits, iccid: "8986041210" + digits)
    }
}

/// The demo district: one device of every kind (and a Cayenne LPP node).
/// `Config/devices.toml` registers exactly these; a test keeps them in step.
public enum DemoDistrict {
    public static let devices: [SimulatedDevice] = [
        .init(devEUI: "a840410000000101", name: "aq-plaza-mayor", model: .elsysERSCO2, zone: "centro", longitude: "-3.7074", latitude: "40.4155"),
        .init(devEUI: "a840410000000201", name: "bin-calle-sol-3", model: .milesightEM310, zone: "centro", longitude: "-3.7031", latitude: "40.4169"),
        .init(devEUI: "a840410000000301", name: "spot-gran-via-12", model: .boschTPS110, zone: "gran-via", longitude: "-3.7058", latitude: "40.4200"),
        .init(devEUI: "a840410000000401", name: "home-0042", model: .draginoLHT65, zone: "lavapies", longitude: "-3.7010", latitude: "40.4087"),
        .init(devEUI: "a840410000000501", name: "lpp-retiro", model: .cayenne, zone: "retiro", longitude: "-3.6844", latitude: "40.4153"),
    ]

    /// A fleet of `size` devices: the demo district first, then more of the
    /// same five models, spread over ten zones around the same centre.
    public static func fleet(size: Int) -> [SimulatedDevice] {
        guard size > devices.count else { return Array(devices.prefix(max(size, 0))) }
        var fleet = devices
        let models = devices.map(\.model)
        for index in devices.count..<size {
            fleet.append(.generated(serial: index, model: models[index % models.count], zone: "zone-\(index % 10)", euiPrefix: "a8404101"))
        }
        return fleet
    }

    /// The registry in the gateway's format (`devices.toml`).
    public static func registryTOML(_ devices: [SimulatedDevice] = devices) -> String {
        var text = "# Device registry for the simulator's demo district (written by `citygate-sim registry`).\n"
        text += "# One [[device]] per sensor: id (DevEUI, lowercase hex), codec id, kind, zone, location.\n"
        for device in devices {
            text += """

            [[device]]
            id = "\(device.devEUI)"
            name = "\(device.name)"
            codec = "\(device.model.rawValue)"
            kind = "\(device.model.kind.rawValue)"
            zone = "\(device.zone)"
            longitude = \(device.longitude)
            latitude = \(device.latitude)

            """
        }
        return text
    }
}
