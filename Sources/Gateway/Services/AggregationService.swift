import Aggregation
import Foundation
import Logging
import Readings
import ServiceLifecycle
import Store

/// Closes windows whose end plus grace has passed, computes their
/// statistics (pure `WindowStatistics`) and queues them for every hub that
/// may receive them. A window that gets a late reading is closed again as a
/// new revision of the same aggregate.
final class AggregationService: Service, @unchecked Sendable {
    let store: GatewayStore
    let registry: DeviceRegistry
    let hubs: [(name: String, isPrivate: Bool)]
    let graceMillis: Int64
    let tick: Duration
    let metrics: GatewayMetrics
    let logger: Logger
    let deliveryWake: [WakeSignal]

    init(store: GatewayStore, registry: DeviceRegistry, hubs: [(name: String, isPrivate: Bool)], graceMillis: Int64, tick: Duration,
         metrics: GatewayMetrics, deliveryWake: [WakeSignal], logger: Logger) {
        self.store = store
        self.registry = registry
        self.hubs = hubs
        self.graceMillis = graceMillis
        self.tick = tick
        self.metrics = metrics
        self.deliveryWake = deliveryWake
        self.logger = logger
    }

    func run() async throws {
        let wake = WakeSignal()
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully {
                while (try? closeWindows()) ?? 0 > 0 {}
                await wake.wait(timeout: tick)
            }
        } onGracefulShutdown: {
            wake.wake()
        }
    }

    /// Closes up to one batch of windows; returns how many.
    func closeWindows() throws -> Int {
        let now = GatewayClock.now()
        let groups = try store.closedWindows(graceMillis: graceMillis, now: now)
        guard !groups.isEmpty else { return 0 }
        var byEligibility: [[String]: [AggregateRecord]] = [:]
        for group in groups {
            let window = try store.windowValues(group)
            guard let metric = Metric.named(group.metric), let statistics = WindowStatistics.of(window.values) else { continue }
            let kind = registry.device(group.device)?.kind ?? .generic
            let record = AggregateRecord(
                windowKey: WindowKey.make(source: group.device, metric: metric.name, channel: group.channel, start: group.windowStart, length: group.windowLength),
                group: group, kind: kind.rawValue, statistics: statistics, throughReadingID: window.throughReadingID)
            // Damp sensors sit in people's homes: per-home windows go to private hubs only.
            let eligible = hubs.filter { $0.isPrivate || kind != .damp }.map(\.name)
            if eligible.count < hubs.count {
                metrics.suppressed(reason: "privacy").increment(by: Int64(hubs.count - eligible.count))
            }
            byEligibility[eligible, default: []].append(record)
        }
        for (eligible, records) in byEligibility {
            try store.saveAggregates(records, hubs: eligible, now: now)
        }
        metrics.aggregatesClosed().increment(by: Int64(groups.count))
        logger.debug("windows closed", metadata: ["count": "\(groups.count)"])
        for wake in deliveryWake { wake.wake() }
        return groups.count
    }
}
