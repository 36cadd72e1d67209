import Readings

/// When a zone window is rolled up.
///
/// A device window closes once its end plus grace has passed. With live
/// traffic, every member of a zone window closes in the same aggregation
/// pass. A backlog after an outage, or a replayed past, is different: its
/// windows ended long ago, so each pass closes whichever members have
/// arrived so far. A roll-up computed at once would then be published from
/// the first members and revised as the rest arrive. SensorThings overwrites
/// the observation, but NGSI-LD temporal history keeps every revision, so a
/// partial value would stay in the city's history.
///
/// So a zone window waits while its members are still closing. It is rolled
/// up in the first pass that closes none of its members, which costs live
/// traffic one pass (at most a second). A window whose members keep closing
/// pass after pass is rolled up anyway once it has waited `patience`
/// passes, so a steady stream of stragglers cannot hold a zone back. A
/// member that arrives later still revises the roll-up, as lateness allows.
///
/// Kept in memory: after a restart the pending roll-ups (durable in the
/// store) wait at most one pass more.
public struct RollupSettling: Sendable {
    /// How many passes a zone window may wait for its members to settle.
    public let patience: Int
    private var pass = 0
    private var changedThisPass: Set<ZoneWindow> = []
    /// Zone windows held back, with the pass that first held each back.
    private var waitingSince: [ZoneWindow: Int] = [:]

    public init(patience: Int = 10) {
        self.patience = max(0, patience)
    }

    /// The zone window a closed device window counts in; nil for a device
    /// in no roll-up group, and for a roll-up itself.
    public static func zoneWindow(of record: AggregateRecord) -> ZoneWindow? {
        guard record.scope == .device, let zone = record.zone else { return nil }
        let group = record.group
        return ZoneWindow(zone: zone, kind: record.kind, metric: group.metric, channel: group.channel,
                          windowLength: group.windowLength, windowStart: group.windowStart)
    }

    /// Starts a pass whose closing changed the members of `changed`.
    public mutating func startPass(changed: Set<ZoneWindow>) {
        pass += 1
        changedThisPass = changed
        // A window held back and no longer pending (rolled up after a
        // restart of this value, say) would stay here; forget the stale.
        waitingSince = waitingSince.filter { pass - $0.value <= patience + 1 }
    }

    /// Whether a zone window waiting for its roll-up is computed in this pass.
    public mutating func isSettled(_ window: ZoneWindow) -> Bool {
        guard changedThisPass.contains(window) else {
            waitingSince[window] = nil
            return true
        }
        let since = waitingSince[window] ?? pass
        if pass - since >= patience {
            waitingSince[window] = nil
            return true
        }
        waitingSince[window] = since
        return false
    }

    /// How many zone windows are being held back (for tests and logs).
    public var waiting: Int { waitingSince.count }
}
