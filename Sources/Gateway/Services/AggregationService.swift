import Aggregation
import Foundation
import Logging
import Readings
import ServiceLifecycle
import Store

/// Closes windows whose end plus grace has passed, computes their
/// statistics (pure `WindowStatistics`) and queues them for every hub that
/// may receive them; then rolls the closed windows up per zone (`ZoneRollup`).
///
/// A window that gets a reading after it closed, within the lateness, is
/// closed again as a new revision of the same aggregate (the hub updates
/// it); a reading later than that is stored and counted, never aggregated.
///
/// Privacy: damp sensors sit in people's homes. Per-home windows go to
/// private hubs only; public hubs get damp as zone roll-ups over at least
/// `minimumZoneHomes` homes, and a smaller zone is withheld and counted.
final class AggregationService: Service, @unchecked Sendable {
    let store: GatewayStore
    /// The registry in effect (SIGHUP may replace it).
    let settings: LiveSettings
    var registry: DeviceRegistry { settings.registry }
    let hubs: [(name: String, isPrivate: Bool)]
    let graceMillis: Int64
    let latenessMillis: Int64
    let zoneRollups: Bool
    let minimumZoneHomes: Int
    let tick: Duration
    let metrics: GatewayMetrics
    let logger: Logger
    let deliveryWake: [WakeSignal]
    private var lateLogged = ContinuousClock.now - .seconds(3600)
    private var lateSuppressed = 0

    init(store: GatewayStore, settings: LiveSettings, hubs: [(name: String, isPrivate: Bool)], graceMillis: Int64,
         latenessMillis: Int64 = 3_600_000, zoneRollups: Bool = true, minimumZoneHomes: Int = 5, tick: Duration,
         metrics: GatewayMetrics, deliveryWake: [WakeSignal], logger: Logger) {
        self.store = store
        self.settings = settings
        self.hubs = hubs
        self.graceMillis = graceMillis
        self.latenessMillis = latenessMillis
        self.zoneRollups = zoneRollups
        self.minimumZoneHomes = minimumZoneHomes
        self.tick = tick
        self.metrics = metrics
        self.deliveryWake = deliveryWake
        self.logger = logger
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

    /// Closes every closable window, then computes the roll-ups they touched,
    /// so a zone is rolled up once with all its members rather than once per batch.
    func closeAll() {
        do {
            while try closeWindows() > 0 {}
            while try rollUpZones() > 0 {}
        } catch {
            logger.error("cannot aggregate", metadata: ["error": "\(error)"])
        }
    }

    /// Closes up to one batch of windows; returns how many groups it looked at.
    func closeWindows() throws -> Int {
        let now = GatewayClock.now()
        let groups = try store.closedWindows(graceMillis: graceMillis, now: now)
        guard !groups.isEmpty else { return 0 }
        var byEligibility: [[String]: [AggregateRecord]] = [:]
        var closed = 0
        let registry = self.registry
        for group in groups {
            guard let metric = Metric.named(group.metric) else { continue }
            let (kind, rollupGroup) = try describe(group.device, registry: registry)
            let key = WindowKey.make(source: group.device, metric: metric.name, channel: group.channel, start: group.windowStart, length: group.windowLength)
            let lateCutoff = group.windowStart + group.windowLength + graceMillis + latenessMillis
            let late = try store.setAsideLateReadings(group, windowKey: key, receivedAfter: lateCutoff)
            if late.setAside > 0 { noteLate(late.setAside, key: key) }
            if late.remaining == 0 { continue }
            let window = try store.windowValues(group)
            guard let statistics = WindowStatistics.of(window.values) else { continue }
            let record = AggregateRecord(windowKey: key, group: group, kind: kind.rawValue, statistics: statistics,
                                         throughReadingID: window.throughReadingID, zone: rollupGroup)
            // Damp windows are per-home data: private hubs only.
            byEligibility[eligibleHubs(publishable: kind != .damp, reason: "privacy"), default: []].append(record)
            closed += 1
        }
        for (eligible, records) in byEligibility {
            try store.saveAggregates(records, hubs: eligible, now: now)
        }
        metrics.aggregatesClosed().increment(by: Int64(closed))
        if closed > 0 {
            logger.debug("windows closed", metadata: ["count": "\(closed)"])
            for wake in deliveryWake { wake.wake() }
        }
        return groups.count
    }

    /// Computes (or revises) the roll-up of every zone window whose members
    /// changed since (`rollup_pending` in the store); returns how many.
    func rollUpZones() throws -> Int {
        let pending = try store.pendingRollups()
        guard !pending.isEmpty else { return 0 }
        let now = GatewayClock.now()
        var byEligibility: [[String]: [AggregateRecord]] = [:]
        for window in pending {
            guard let metric = Metric.named(window.metric) else { continue }
            let kind = SensorKind(rawValue: window.kind) ?? .generic
            let members = try store.zoneMembers(window)
            guard let rollup = ZoneRollup.of(metric: metric, members: members.map(\.statistics)) else { continue }
            let source = "\(window.zone):\(window.kind)"
            let group = WindowGroup(device: source, metric: window.metric, channel: window.channel, windowLength: window.windowLength,
                                    windowStart: window.windowStart)
            let record = AggregateRecord(
                windowKey: WindowKey.make(source: source, metric: window.metric, channel: window.channel, start: window.windowStart,
                                          length: window.windowLength),
                group: group, kind: window.kind, statistics: rollup.statistics, throughReadingID: 0,
                scope: .zone(members: rollup.statistics.count, total: rollup.total), zone: window.zone)
            let publishable = ZoneRollup.isPublishable(kind: kind, members: rollup.statistics.count, minimumHomes: minimumZoneHomes)
            byEligibility[eligibleHubs(publishable: publishable, reason: "k_anonymity"), default: []].append(record)
        }
        for (eligible, records) in byEligibility {
            try store.saveAggregates(records, hubs: eligible, now: now)
        }
        for window in pending { try store.clearPendingRollup(window) }
        for wake in deliveryWake { wake.wake() }
        return pending.count
    }

    /// The hubs an aggregate may go to: all of them when it is publishable,
    /// else the private ones, with the public ones it is withheld from counted.
    func eligibleHubs(publishable: Bool, reason: String) -> [String] {
        let eligible = hubs.filter { $0.isPrivate || publishable }.map(\.name)
        if eligible.count < hubs.count {
            metrics.suppressed(reason: reason).increment(by: Int64(hubs.count - eligible.count))
        }
        return eligible
    }

    /// Kind and roll-up group of a device: from the registry, or what a codec
    /// rule made of it (recorded by the processing stage).
    func describe(_ device: DeviceID, registry: DeviceRegistry) throws -> (SensorKind, String?) {
        if let listed = registry.device(device) { return (listed.kind, zoneRollups ? listed.rollupGroup : nil) }
        if let learned = try store.ruleDevice(device) {
            return (SensorKind(rawValue: learned.kind) ?? .generic, zoneRollups ? learned.zone : nil)
        }
        return (.generic, nil)
    }

    /// One line a minute at most, with how many were set aside meanwhile.
    private func noteLate(_ count: Int, key: String) {
        metrics.readingsTooLate().increment(by: Int64(count))
        lateSuppressed += count
        guard ContinuousClock.now - lateLogged >= .seconds(60) else { return }
        logger.warning("readings arrived after their window's lateness; stored, not aggregated", metadata: [
            "window": "\(key)", "readings": "\(lateSuppressed)", "lateness_ms": "\(latenessMillis)"])
        lateLogged = ContinuousClock.now
        lateSuppressed = 0
    }
}
