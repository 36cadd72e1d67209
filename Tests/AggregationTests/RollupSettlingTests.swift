import Aggregation
import Readings
import Testing

/// When a zone window is rolled up: not while its members are still
/// closing pass after pass (a backlog), but within `patience` passes.
@Suite struct RollupSettlingTests {
    let closing = WindowClosing(graceMillis: 60_000, latenessMillis: 3_600_000)

    func member(_ device: String, zone: String?, start: Int64 = 0, metric: Metric = .occupied) -> AggregateRecord {
        let group = WindowGroup(device: device, metric: metric, channel: nil, windowLength: 3_600_000, windowStart: start)
        return closing.deviceAggregate(group, kind: .parking, rollupGroup: zone, accumulator: WindowAccumulator(time: start + 1, value: 1))
    }

    /// Starts a pass, then asks about each window in turn.
    func pass(_ settling: inout RollupSettling, changed: Set<ZoneWindow>, asking windows: [ZoneWindow]) -> [Bool] {
        settling.startPass(changed: changed)
        return ask(&settling, windows)
    }

    func ask(_ settling: inout RollupSettling, _ windows: [ZoneWindow]) -> [Bool] {
        windows.map { settling.isSettled($0) }
    }

    @Test func aClosedDeviceWindowNamesItsZoneWindowAndOnlyThen() throws {
        let window = try #require(RollupSettling.zoneWindow(of: member("p1", zone: "zone:a", start: 7_200_000)))
        #expect(window == ZoneWindow(zone: "zone:a", kind: .parking, metric: .occupied, channel: nil, windowLength: 3_600_000,
                                     windowStart: 7_200_000))
        // Two members of one zone hour name the same zone window.
        #expect(RollupSettling.zoneWindow(of: member("p2", zone: "zone:a", start: 7_200_000)) == window)
        #expect(RollupSettling.zoneWindow(of: member("p3", zone: nil)) == nil)
        // A roll-up is not a member of anything.
        let rollup = try #require(ZoneRollup.aggregate(window, members: [member("p1", zone: "zone:a").statistics], minimumHomes: 1))
        #expect(RollupSettling.zoneWindow(of: rollup.record) == nil)
    }

    @Test func aZoneWhoseMembersClosedThisPassWaitsForAQuietPass() throws {
        var settling = RollupSettling(patience: 10)
        let hour0 = try #require(RollupSettling.zoneWindow(of: member("p1", zone: "zone:a")))
        let hour1 = try #require(RollupSettling.zoneWindow(of: member("p1", zone: "zone:a", start: 3_600_000)))
        // Pass 1: a replayed backlog closed the first members of hour 0.
        #expect(pass(&settling, changed: [hour0], asking: [hour0]) == [false])
        // Asked again in the same pass (the roll-up loop asks once per batch): still waiting.
        #expect(ask(&settling, [hour0]) == [false] && settling.waiting == 1)
        // Pass 2: the rest of hour 0 and the first of hour 1 closed.
        #expect(pass(&settling, changed: [hour0, hour1], asking: [hour0, hour1]) == [false, false])
        // Pass 3: only hour 1 still moving; hour 0 is rolled up once, with every member.
        #expect(pass(&settling, changed: [hour1], asking: [hour0, hour1]) == [true, false])
        #expect(pass(&settling, changed: [], asking: [hour1]) == [true] && settling.waiting == 0)
        // A zone window pending from before (a restart) and untouched in this pass goes at once.
        var fresh = RollupSettling()
        #expect(pass(&fresh, changed: [], asking: [hour0]) == [true])
    }

    @Test func aZoneWhoseMembersNeverStopClosingIsRolledUpAfterPatiencePasses() throws {
        var settling = RollupSettling(patience: 3)
        let hour0 = try #require(RollupSettling.zoneWindow(of: member("p1", zone: "zone:a")))
        var settledIn: [Int] = []
        for number in 1...8 where pass(&settling, changed: [hour0], asking: [hour0]) == [true] { settledIn.append(number) }
        // Held back three passes, rolled up in the fourth, then held back anew.
        #expect(settledIn == [4, 8])
        // Patience 0 is the old rule: every pass rolls up what changed.
        var eager = RollupSettling(patience: 0)
        #expect(pass(&eager, changed: [hour0], asking: [hour0]) == [true])
    }

    @Test func windowsHeldBackAndThenForgottenDoNotAccumulate() throws {
        var settling = RollupSettling(patience: 2)
        for hour in 0..<100 {
            let window = try #require(RollupSettling.zoneWindow(of: member("p1", zone: "zone:a", start: Int64(hour) * 3_600_000)))
            #expect(pass(&settling, changed: [window], asking: [window]) == [false])
            // Never asked again (rolled up elsewhere, or no longer pending).
        }
        #expect(settling.waiting <= 4)
    }
}
