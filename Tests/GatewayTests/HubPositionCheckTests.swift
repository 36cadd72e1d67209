import Foundation
@testable import Gateway
import Testing

/// A SensorThings hub needs a position for every Observation (FROST answers
/// 409 otherwise; ../shared/reference/hub/real-hubs.md): a device without
/// coordinates is placed by its zone, and one that cannot be placed is a
/// config error naming it, not windows that can never be delivered.
@Suite struct HubPositionCheckTests {
    static let hub = """
        [[hub]]
        name = "opendata"
        kind = "sensorthings"
        url = "http://127.0.0.1:8080/FROST-Server/v1.1"
        """

    static func device(_ id: String, kind: String = "parking", zone: String, located: Bool) -> String {
        """
        [[device]]
        id = "\(id)"
        codec = "bosch:tps110"
        kind = "\(kind)"
        zone = "\(zone)"
        \(located ? "longitude = -3.7\nlatitude = 40.4" : "")

        """
    }

    @Test func aDeviceWithNeitherCoordinatesNorAPlacedZoneIsNamed() throws {
        let directory = try ConfigDirectory(config: Self.hub, devices: Self.device("a840410000000001", zone: "nowhere", located: false)
                                            + Self.device("a840410000000002", zone: "nowhere", located: false))
        let errors = directory.errors()
        #expect(errors.count == 1 && errors[0].contains("device a840410000000001") && errors[0].contains("a840410000000002")
                && errors[0].contains("[[zone]]"), "\(errors)")
    }

    @Test func aZoneIsPlacedByItsPointOrByItsLocatedDevices() throws {
        // By a located device of the same zone (any kind).
        let byCentroid = try ConfigDirectory(config: Self.hub, devices: Self.device("a840410000000001", zone: "centro", located: false)
                                             + Self.device("a840410000000002", kind: "waste_bin", zone: "centro", located: true))
        #expect(byCentroid.errors().isEmpty, "\(byCentroid.errors())")
        // By the operator's [[zone]] point.
        let byPoint = try ConfigDirectory(config: Self.hub, devices: Self.device("a840410000000001", zone: "retiro", located: false) + """
            [[zone]]
            name = "retiro"
            longitude = -3.6823
            latitude = 40.4153
            """)
        #expect(byPoint.errors().isEmpty, "\(byPoint.errors())")
        let config = try GatewayConfig.load(path: byPoint.configPath)
        #expect(config.registry.location(ofZone: "retiro")?.longitude == "-3.6823000")
    }

    @Test func withoutASensorThingsHubNoPositionIsNeeded() throws {
        let directory = try ConfigDirectory(config: "", devices: Self.device("a840410000000001", zone: "nowhere", located: false))
        #expect(directory.errors().isEmpty, "\(directory.errors())")
    }

    @Test func perHomeWindowsThatReachNoPrivateSensorThingsHubNeedNoPosition() throws {
        // A damp device's own windows go to private hubs only; this hub is public.
        let directory = try ConfigDirectory(config: Self.hub, devices: Self.device("a840410000000001", kind: "damp", zone: "home", located: false))
        #expect(directory.errors().isEmpty, "\(directory.errors())")
        let privateHub = try ConfigDirectory(config: Self.hub + "\nprivate = true\n",
                                             devices: Self.device("a840410000000001", kind: "damp", zone: "home", located: false))
        #expect(privateHub.errors().contains { $0.contains("device a840410000000001") }, "\(privateHub.errors())")
    }

    @Test func aCodecRuleMustNameAPlacedZone() throws {
        let rule = """
            [[codec_rule]]
            device_profile = "tps110"
            codec = "bosch:tps110"
            kind = "parking"

            """
        let unnamed = try ConfigDirectory(config: Self.hub, devices: rule)
        #expect(unnamed.errors().contains { $0.contains("codec_rule 1 zone") && $0.contains("names no zone") }, "\(unnamed.errors())")
        let placed = try ConfigDirectory(config: Self.hub, devices: rule.replacingOccurrences(of: "kind = \"parking\"", with: "kind = \"parking\"\nzone = \"centro\"")
                                         + Self.device("a840410000000002", zone: "centro", located: true))
        #expect(placed.errors().isEmpty, "\(placed.errors())")
    }
}
