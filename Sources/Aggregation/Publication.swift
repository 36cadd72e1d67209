import Readings

/// Who may receive an aggregate. Damp sensors sit in people's homes:
/// per-home windows go to private hubs only, and public hubs get damp only
/// as zone roll-ups over at least `minimumZoneHomes` homes
/// (`ZoneRollup.isPublishable`). Everything else goes to every hub.
public struct Publication: Sendable, Equatable {
    public struct Destination: Sendable, Equatable {
        public var name: String
        public var isPrivate: Bool
        public init(name: String, isPrivate: Bool) {
            self.name = name
            self.isPrivate = isPrivate
        }
    }

    public var hubs: [Destination]
    public var minimumZoneHomes: Int

    public init(hubs: [Destination], minimumZoneHomes: Int) {
        self.hubs = hubs
        self.minimumZoneHomes = minimumZoneHomes
    }

    /// The hubs an aggregate may go to: all of them when it is publishable,
    /// else the private ones; `withheld` counts the public ones left out.
    public func eligibleHubs(publishable: Bool) -> (hubs: [String], withheld: Int) {
        let eligible = hubs.filter { $0.isPrivate || publishable }.map(\.name)
        return (eligible, hubs.count - eligible.count)
    }

    /// A device's own window is publishable unless it is per-home data.
    public static func isPublishable(deviceWindowOf kind: SensorKind) -> Bool { kind != .damp }
}
