import Aggregation
import FoundationEssentials
import Logging
import Readings
import ServiceLifecycle
import Store
import Uplink

/// Moves windows between the store and the Aggregation module's rules:
/// closes windows whose end plus grace has passed (`WindowClosing`, with
/// lateness and revisions), rolls the closed windows up per zone
/// (`ZoneRollup`), and queues each for the hubs that may receive it
/// (`Publication`, the privacy rule), counting what is withheld.
// @unchecked: its mutable state belongs to its own run loop (one task); the rest is `let`.
final class AggregationService: Service, @unchecked Sendable {
    let store: GatewayStore
    /// The registry in effect (SIGHUP may replace it).
    let settings: LiveSettings
    var registry: DeviceRegistry { settings.registry }
    let closing: WindowClosing
    let publication: Publication
    let zoneRollups: Bool
    /// Holds a zone window back while its members are still closing (a backlog).
    var settling = RollupSettling()
    let tick: Duration
    let metrics: GatewayMetrics
    let logger: Logger
    let deliveryWake: [WakeSignal]

    init(context: ServiceContext, hubs: [(name: String, isPrivate: Bool)], graceMillis: Int64,
         latenessMillis: Int64 = 3_600_000, zoneRollups: Bool = true, minimumZoneHomes: Int = 5, tick: Duration,
         deliveryWake: [WakeSignal]) {
        store = context.store
        settings = context.settings
        metrics = context.metrics
        logger = context.logger
        closing = WindowClosing(graceMillis: graceMillis, latenessMillis: latenessMillis)
        publication = Publication(hubs: hubs.map { .init(name: $0.name, isPrivate: $0.isPrivate) }, minimumZoneHomes: minimumZoneHomes)
        self.zoneRollups = zoneRollups
        self.tick = tick
        self.deliveryWake = deliveryWake
    }

    func run() async throws {
        let wake = WakeSignal()
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully {
                closeAll()
                await wake.wait(timeout: tick)
            }
        } onGracefulShutdown: {
            wake.wake()
        }
    }

    /// Closes every closable window, then computes the roll-ups whose
    /// members have settled (`RollupSettling`), so a zone is rolled up once
    /// with all its members rather than once per batch or per pass.
    func closeAll() {
        do {
            var changed: Set<ZoneWindow> = []
            while true {
                let closed = try closeWindows()
                guard closed.count > 0 else { break }
                changed.formUnion(closed.zones)
            }
            settling.startPass(changed: changed)
            while try rollUpZones() > 0 {}
        } catch {
            logger.error("cannot aggregate", metadata: ["error": "\(error)"])
        }
    }

    /// Closes up to one batch of windows; returns how many groups it looked
    /// at and the zone windows whose members it closed.
    func closeWindows() throws -> (count: Int, zones: Set<ZoneWindow>) {
        let now = GatewayClock.now()
        let windows = try store.closableWindows(graceMillis: closing.graceMillis, now: now)
        guard !windows.isEmpty else { return (0, []) }
        var zones: Set<ZoneWindow> = []
        var byEligibility: [[String]: [AggregateRecord]] = [:]
        let registry = self.registry
        for window in windows {
            let (kind, rollupGroup) = try describe(window.group.device, registry: registry)
            let record = closing.deviceAggregate(window.group, kind: kind, rollupGroup: rollupGroup, accumulator: window.accumulator)
            if let zone = RollupSettling.zoneWindow(of: record) { zones.insert(zone) }
            byEligibility[eligibleHubs(publishable: Publication.isPublishable(deviceWindowOf: kind), reason: "privacy"), default: []].append(record)
        }
        for (eligible, records) in byEligibility {
            try store.saveAggregates(records, hubs: eligible, now: now)
        }
        metrics.aggregatesClosed().increment(by: Int64(windows.count))
        logger.debug("windows closed", metadata: ["count": "\(windows.count)"])
        for wake in deliveryWake { wake.wake() }
        return (windows.count, zones)
    }

    /// Computes (or revises) the roll-up of every zone window whose members
    /// changed since (`rollup_pending` in the store) and have settled in this
    /// pass; returns how many.
    func rollUpZones() throws -> Int {
        let pending = try store.pendingRollups().filter { settling.isSettled($0) }
        guard !pending.isEmpty else { return 0 }
        let now = GatewayClock.now()
        var byEligibility: [[String]: [AggregateRecord]] = [:]
        for window in pending {
            let members = try store.zoneMembers(window)
            guard let rollup = ZoneRollup.aggregate(window, members: members.map(\.statistics),
                                                    minimumHomes: publication.minimumZoneHomes) else { continue }
            byEligibility[eligibleHubs(publishable: rollup.publishable, reason: "k_anonymity"), default: []].append(rollup.record)
        }
        for (eligible, records) in byEligibility {
            try store.saveAggregates(records, hubs: eligible, now: now)
        }
        for window in pending { try store.clearPendingRollup(window) }
        for wake in deliveryWake { wake.wake() }
        return pending.count
    }

    /// The hubs an aggregate may go to (`Publication`), with the public ones
    /// it is withheld from counted.
    func eligibleHubs(publishable: Bool, reason: String) -> [String] {
        let (eligible, withheld) = publication.eligibleHubs(publishable: publishable)
        if withheld > 0 { metrics.suppressed(reason: reason).increment(by: Int64(withheld)) }
        return eligible
    }

    /// Kind and roll-up group of a device: from the registry, or what a codec
    /// rule made of it (recorded by the processing stage).
    func describe(_ device: DeviceID, registry: DeviceRegistry) throws -> (SensorKind, String?) {
        if let listed = registry.device(device) { return (listed.kind, zoneRollups ? listed.rollupGroup : nil) }
        if let learned = try store.ruleDevice(device) { return (learned.kind, zoneRollups ? learned.zone : nil) }
        return (.generic, nil)
    }
}
