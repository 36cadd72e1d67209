import Aggregation
import Foundation
import Hub
import Logging
import Readings
import ServiceLifecycle
import Store

/// Feeds one hub from its cursor in the delivery ledger: oldest window
/// first, batches marked in flight before they are sent, transient failures
/// retried with capped exponential backoff and jitter (never given up),
/// refusals dead-lettered with the hub's answer.
final class DeliveryService: Service, @unchecked Sendable {
    let hub: any Hub
    let store: GatewayStore
    let registry: DeviceRegistry
    let batchSize: Int
    let metrics: GatewayMetrics
    let logger: Logger
    let wake: WakeSignal
    /// How long a graceful shutdown may spend flushing the backlog.
    let flushTimeout: Duration
    let retryMaxMillis: Int64
    private var consecutiveFailures = 0

    init(hub: any Hub, store: GatewayStore, registry: DeviceRegistry, batchSize: Int, metrics: GatewayMetrics,
         wake: WakeSignal, flushTimeout: Duration = .seconds(3), retryMaxMillis: Int64 = 60_000, logger: Logger) {
        self.retryMaxMillis = retryMaxMillis
        self.hub = hub
        self.store = store
        self.registry = registry
        self.batchSize = batchSize
        self.metrics = metrics
        self.wake = wake
        self.flushTimeout = flushTimeout
        self.logger = logger
    }

    /// What to do after a batch.
    enum Next: Equatable {
        /// There may be more to send: go on at once.
        case more
        /// Nothing left: wait for new aggregates (a wake) or the timeout.
        case idle(Duration)
        /// The hub failed: wait this long, whatever wakes come in.
        case backoff(Duration)
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully {
                switch await deliverBatch() {
                case .more:
                    continue
                case let .idle(timeout):
                    await wake.wait(timeout: timeout)
                case let .backoff(pause):
                    let until = ContinuousClock.now + pause
                    while ContinuousClock.now < until && !Task.isShuttingDownGracefully {
                        await wake.wait(timeout: min(until - ContinuousClock.now, .milliseconds(250)))
                    }
                }
            }
        } onGracefulShutdown: { [wake] in
            wake.wake()
        }
        // Flush what can go within the flush time; the rest stays pending in the store.
        let deadline = ContinuousClock.now + flushTimeout
        while ContinuousClock.now < deadline {
            if await deliverBatch() != .more { break }
        }
    }

    /// Sends one batch and says what to do next.
    func deliverBatch() async -> Next {
        let pending: [PendingDelivery]
        do {
            pending = try store.pendingDeliveries(hub: hub.name, limit: batchSize)
        } catch {
            logger.error("cannot read the delivery ledger", metadata: ["hub": "\(hub.name)", "error": "\(error)"])
            return .backoff(.seconds(1))
        }
        metrics.backlog(hub: hub.name).set(Int64(pending.count))
        guard !pending.isEmpty else { return .idle(.seconds(1)) }
        let batch = pending.compactMap(outbound)
        let now = GatewayClock.now()
        do {
            try store.markInFlight(hub: hub.name, pending.map(\.aggregateID), now: now)
        } catch {
            logger.error("cannot mark deliveries in flight", metadata: ["hub": "\(hub.name)", "error": "\(error)"])
            return .backoff(.seconds(1))
        }
        let results = await hub.deliver(batch)
        var delivered: [(id: Int64, revision: Int64, ref: String?)] = []
        var retry: [Int64] = []
        var rejected: [(id: Int64, error: String)] = []
        var retryReason = ""
        var retryAfter: Int?
        for (aggregate, result) in zip(batch, results) {
            switch result {
            case let .delivered(ref): delivered.append((aggregate.aggregateID, aggregate.revision, ref))
            case let .retry(reason, after):
                retry.append(aggregate.aggregateID)
                retryReason = reason
                if let after { retryAfter = max(retryAfter ?? 0, after) }
            case let .rejected(reason): rejected.append((aggregate.aggregateID, reason))
            }
        }
        let done = GatewayClock.now()
        do {
            if !delivered.isEmpty { try store.markDelivered(hub: hub.name, delivered, now: done) }
            if !retry.isEmpty { try store.markRetry(hub: hub.name, retry, error: retryReason, now: done) }
            if !rejected.isEmpty { try store.markDeadLettered(hub: hub.name, rejected, now: done) }
        } catch {
            logger.error("cannot update the delivery ledger", metadata: ["hub": "\(hub.name)", "error": "\(error)"])
        }
        metrics.forwarded(hub: hub.name).increment(by: Int64(delivered.count))
        for item in rejected {
            metrics.deliveryErrors(hub: hub.name, kind: "rejected").increment()
            logger.error("hub rejected aggregate; dead-lettered", metadata: ["hub": "\(hub.name)", "aggregate": "\(item.id)", "answer": "\(item.error)"])
        }
        if !delivered.isEmpty {
            logger.debug("aggregates delivered", metadata: ["hub": "\(hub.name)", "count": "\(delivered.count)"])
        }
        guard !retry.isEmpty else {
            if consecutiveFailures > 0 {
                logger.info("hub reachable again", metadata: ["hub": "\(hub.name)", "failed_attempts": "\(consecutiveFailures)"])
            }
            consecutiveFailures = 0
            return pending.count < batchSize ? .idle(.milliseconds(200)) : .more
        }
        metrics.deliveryErrors(hub: hub.name, kind: "retry").increment(by: Int64(retry.count))
        consecutiveFailures += 1
        if consecutiveFailures == 1 || consecutiveFailures % 10 == 0 {
            logger.warning("hub delivery failed; will retry", metadata: [
                "hub": "\(hub.name)", "error": "\(retryReason)", "pending": "\(retry.count)", "attempts": "\(consecutiveFailures)"])
        }
        return .backoff(Self.backoff(attempt: consecutiveFailures, retryAfterSeconds: retryAfter, capMillis: retryMaxMillis))
    }

    /// Exponential backoff from 500 ms doubling to the cap (`retry_max`,
    /// 60 s by default), with ±25 % jitter; at least what the hub asked for
    /// in Retry-After.
    static func backoff(attempt: Int, retryAfterSeconds: Int?, capMillis: Int64 = 60_000) -> Duration {
        let base = Int(min(capMillis, Int64(500) << Int64(min(attempt - 1, 17))))
        let jittered = base + Int.random(in: -(base / 4)...(base / 4))
        let floor = (retryAfterSeconds ?? 0) * 1000
        return .milliseconds(max(jittered, floor))
    }

    func outbound(_ item: PendingDelivery) -> OutboundAggregate? {
        let record = item.record
        guard let metric = Metric.named(record.group.metric) else { return nil }
        let device = registry.device(record.group.device)
        return OutboundAggregate(
            aggregateID: item.aggregateID, revision: item.revision, windowKey: record.windowKey, source: record.group.device,
            kind: SensorKind(rawValue: record.kind) ?? .generic, metric: metric, channel: record.group.channel,
            window: Window(start: record.group.windowStart, length: record.group.windowLength), statistics: record.statistics,
            hubRef: item.hubRef, deviceName: device?.name, zone: device?.zone, location: device?.locationText)
    }
}
