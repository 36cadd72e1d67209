import Aggregation
import Readings
import Testing

/// The window rules as pure functions: closing, lateness, roll-ups, privacy.
@Suite struct ClosingAndPublicationTests {
    let closing = WindowClosing(graceMillis: 60_000, latenessMillis: 3_600_000)

    @Test func theLateCutoffIsEndPlusGracePlusLatenessAndSaturates() {
        #expect(Window(start: 0, length: 900_000).end(plus: closing.revisableMillis) == 900_000 + 60_000 + 3_600_000)
        // A window start from a device clock near the end of time must not trap.
        #expect(Window(start: .max - 1_000, length: 900_000).end(plus: closing.revisableMillis) == .max)
    }

    @Test func aDeviceWindowBecomesItsAggregate() {
        let group = WindowGroup(device: "d1", metric: .temperature, channel: nil, windowLength: 900_000, windowStart: 0)
        var accumulator = WindowAccumulator(time: 1, value: 2_000)
        accumulator.take(time: 2, value: 2_101)
        let record = closing.deviceAggregate(group, kind: .damp, rollupGroup: "zone:a", accumulator: accumulator)
        #expect(record.windowKey == "d1/temperature/1970-01-01T00:00:00Z/PT15M")
        #expect(record.statistics.mean == 2_051 && record.statistics.count == 2 && record.zone == "zone:a" && record.scope == .device)
    }

    @Test func privateHubsGetEverythingPublicOnesOnlyWhatIsPublishable() {
        let publication = Publication(hubs: [.init(name: "city", isPrivate: false), .init(name: "housing", isPrivate: true)], minimumZoneHomes: 5)
        #expect(publication.eligibleHubs(publishable: true) == (hubs: ["city", "housing"], withheld: 0))
        #expect(publication.eligibleHubs(publishable: false) == (hubs: ["housing"], withheld: 1))
        #expect(!Publication.isPublishable(deviceWindowOf: .damp) && Publication.isPublishable(deviceWindowOf: .parking))
    }

    @Test func aDampZoneIsPublishableFromKHomesAndParkingRollsUpTheLastState() {
        let window = ZoneWindow(zone: "zone:a", kind: .damp, metric: .mouldRisk, channel: nil, windowLength: 3_600_000, windowStart: 0)
        let member = WindowStatistics(count: 4, min: 0, max: 1, mean: 1, last: 0, lastTime: 10)
        let four = ZoneRollup.aggregate(window, members: Array(repeating: member, count: 4), minimumHomes: 5)
        let five = ZoneRollup.aggregate(window, members: Array(repeating: member, count: 5), minimumHomes: 5)
        #expect(four?.publishable == false && five?.publishable == true)
        // mould risk is a state: each home counts with its last value (0 here), not its mean (1).
        #expect(five?.record.statistics.mean == 0 && five?.record.scope == .zone(members: 5, total: 0))
        #expect(five?.record.windowKey == "zone:a:damp/mould_risk/1970-01-01T00:00:00Z/PT1H")
        #expect(ZoneRollup.aggregate(window, members: [], minimumHomes: 5) == nil)
    }
}
