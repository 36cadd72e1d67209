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

        public var kind: SensorKind {
            switch self {
            case .elsysERSCO2: return .airQuality
            case .milesightEM310: return .wasteBin
            case .boschTPS110: return .parking
            case .draginoLHT65: return .damp
            case .cayenne: return .generic
            }
        }

        var fPort: Int {
            switch self {
            case .elsysERSCO2: return 1
            case .milesightEM310: return 85
            case .boschTPS110: return 1
            case .draginoLHT65: return 2
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
            }
        }
    }

    public var devEUI: DeviceID
    public var name: String
    public var model: Model
    public var zone: String
    public var longitude: String
    public var latitude: String
    /// Which network server's envelope carries its uplinks.
    public var envelope: Envelope = .chirpstack

    public enum Envelope: String, Sendable, CaseIterable { case chirpstack, tts }

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
    /// digits of the serial, named `<kind>-<serial>`, placed at exact decimal
    /// offsets of up to ±0.0499° around the demo district's centre.
    public static func generated(serial: Int, model: Model, zone: String, euiPrefix: String, envelope: Envelope = .chirpstack) -> SimulatedDevice {
        let dx = serial % 100 - 50, dy = serial / 100 % 100 - 50
        func offset(_ base: Int, _ delta: Int) -> String { FixedPoint.decimalString(Int64(base + delta * 10), decimals: 4) }
        return SimulatedDevice(devEUI: euiPrefix + Hex.digits(UInt64(serial), count: 8),
                               name: "\(model.kind.rawValue.replacingOccurrences(of: "_", with: "-"))-\(serial)", model: model, zone: zone,
                               longitude: offset(-37_074, dx), latitude: offset(404_155, dy), envelope: envelope)
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
        let models = SimulatedDevice.Model.allCases
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
