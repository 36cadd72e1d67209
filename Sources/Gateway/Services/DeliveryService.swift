import Aggregation
import FoundationEssentials
import Hubs
import Logging
import Readings
import ServiceLifecycle
import Store
import Uplink

/// Feeds one hub from its cursor in the delivery ledger: oldest window
/// first, batches marked in flight before they are sent, transient failures
/// retried with capped exponential backoff and jitter (never given up),
/// refusals dead-lettered with the hub's answer.
// @unchecked: its mutable state belongs to its own run loop (one task); the rest is `let`.
final class DeliveryService: Service, @unchecked Sendable {
    let hub: any Hub
    let store: GatewayStore
    /// The registry in effect (SIGHUP may replace it).
    let settings: LiveSettings
    var registry: DeviceRegistry { settings.registry }
    let batchSize: Int
    let metrics: GatewayMetrics
    let logger: Logger
    let wake: WakeSignal
    /// How long a graceful shutdown may spend flushing the backlog.
    let flushTimeout: Duration
    let retryMaxMillis: Int64
    let batchWaitMillis: Int64
    let maxRowAttempts: Int
    let board: HubStatusBoard
    private var consecutiveFailures = 0
    private var authFailures = 0
    private var lastSend = ContinuousClock.now

    init(hub: any Hub, settings hubSettings: HubSettings, context: ServiceContext, wake: WakeSignal, flushTimeout: Duration = .seconds(3)) {
        self.hub = hub
        store = context.store
        settings = context.settings
        metrics = context.metrics
        logger = context.logger
        batchSize = hubSettings.batchSize
        retryMaxMillis = hubSettings.retryMaxMillis
        batchWaitMillis = hubSettings.batchWaitMillis
        maxRowAttempts = hubSettings.maxRowAttempts
        board = context.hubBoard
        self.wake = wake
        self.flushTimeout = flushTimeout
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
            if await deliverBatch(flushing: true) != .more { break }
        }
    }

    /// Sends one batch and says what to do next.
    func deliverBatch(flushing: Bool = false) async -> Next {
        var pending: [PendingDelivery]
        do {
            pending = try store.pendingDeliveries(hub: hub.name, limit: batchSize)
        } catch {
            logger.error("cannot read the delivery ledger", metadata: ["hub": "\(hub.name)", "error": "\(error)"])
            return .backoff(.seconds(1))
        }
        metrics.backlog(hub: hub.name).set(Int64(pending.count))
        let now = GatewayClock.now()
        let oldestEnd = pending.map { $0.record.group.windowStart + $0.record.group.windowLength }.min()
        metrics.deliveryLag(hub: hub.name).set(oldestEnd.map { max(0, (now - $0) / 1000) } ?? 0)
        guard !pending.isEmpty else { return .idle(.seconds(1)) }
        // Age bound: a batch that is not full waits up to batch_wait for more.
        if !flushing, pending.count < batchSize, batchWaitMillis > 0, consecutiveFailures == 0 {
            let waited = ContinuousClock.now - lastSend
            if waited < .milliseconds(batchWaitMillis) { return .idle(.milliseconds(batchWaitMillis) - waited) }
        }

        // Sent before without a clear answer: ask the hub first, send only what it lacks.
        let uncertain = pending.filter(\.wasInFlight)
        if !uncertain.isEmpty {
            switch await reconcile(uncertain) {
            case let .stop(next): return next
            case let .held(ids): pending.removeAll { ids.contains($0.aggregateID) }
            }
            if pending.isEmpty { return .more }
        }

        let batch = outbound(pending)
        do {
            try store.markInFlight(hub: hub.name, pending.map(\.aggregateID), now: now)
        } catch {
            logger.error("cannot mark deliveries in flight", metadata: ["hub": "\(hub.name)", "error": "\(error)"])
            return .backoff(.seconds(1))
        }
        lastSend = ContinuousClock.now
        board.update(hub.name) { $0.inFlight = batch.count }
        let results = await hub.deliver(batch)
        board.update(hub.name) { $0.inFlight = 0 }
        var outcome = Outcome()
        // markInFlight counted this send: attempts + 1 sends so far.
        let sends = Dictionary(pending.map { ($0.aggregateID, $0.attempts + 1) }, uniquingKeysWith: { first, _ in first })
        for (aggregate, result) in zip(batch, results) {
            outcome.add(aggregate, result, sends: sends[aggregate.aggregateID] ?? 1, maxRowAttempts: maxRowAttempts)
        }
        record(outcome)
        return next(after: outcome, batchWasFull: pending.count >= batchSize)
    }

    /// A hub's answer is kept to this many bytes: an error body of up to
    /// 16 MiB was written into every aggregate of the batch (500 copies) and
    /// into the log. The other aggregates that got the same answer keep a
    /// reference to the first and an excerpt of `answerExcerptBytes`, so each
    /// dead letter still names the hub's error (its type comes first).
    static let maxAnswerBytes = 1024
    static let answerExcerptBytes = 160

    /// What an aggregate keeps of an answer already kept whole on `first`.
    static func sameAnswer(as first: Int64, _ answer: String) -> String {
        "same answer as aggregate \(first): \(BoundedText.prefix(answer, maxBytes: answerExcerptBytes))"
    }

    /// The results of one batch, sorted by what the ledger does with them.
    /// Hub answers are cut to `maxAnswerBytes`.
    struct Outcome {
        var delivered: [(id: Int64, revision: Int64, ref: String?)] = []
        var retry: [Int64] = []
        var unknown: [Int64] = []
        var unauthorized: [Int64] = []
        var rejected: [(id: Int64, error: String)] = []
        /// Of `retry`, rows the hub refused on their own (not the whole request).
        var refused = 0
        var reason = ""
        var retryAfter: Int?

        /// `sends`: how often this aggregate has been sent, this time included;
        /// a row the hub refused that often is dead-lettered.
        mutating func add(_ aggregate: OutboundAggregate, _ result: DeliveryResult, sends: Int64 = 1, maxRowAttempts: Int = 1) {
            let id = aggregate.aggregateID
            func kept(_ why: String) -> String { BoundedText.prefix(why, maxBytes: DeliveryService.maxAnswerBytes) }
            switch result {
            case let .refused(why) where sends >= Int64(maxRowAttempts):
                add(aggregate, .rejected(reason: "refused \(sends) times, last: \(why)"))
            case let .refused(why):
                // Not the hub's last word yet: retried with the batch's backoff.
                retry.append(id)
                refused += 1
                reason = kept(why)
            case let .delivered(ref): delivered.append((id, aggregate.revision, ref))
            case let .retry(why, after):
                retry.append(id)
                reason = kept(why)
                if let after { retryAfter = max(retryAfter ?? 0, after) }
            case let .unknown(why): unknown.append(id); reason = kept(why)
            case let .unauthorized(why): unauthorized.append(id); reason = kept(why)
            case let .rejected(why):
                // The same answer for the whole batch (a 400 on the request) is
                // kept once; the others point at it.
                let answer = kept(why)
                if let first = rejected.first, answer == first.error {
                    rejected.append((id, DeliveryService.sameAnswer(as: first.id, why)))
                } else {
                    rejected.append((id, answer))
                }
            }
        }

        var failed: Bool { !retry.isEmpty || !unknown.isEmpty || !unauthorized.isEmpty }
    }

    func record(_ outcome: Outcome) {
        let done = GatewayClock.now()
        do {
            if !outcome.delivered.isEmpty { try store.markDelivered(hub: hub.name, outcome.delivered, now: done) }
            // One answer for the batch: kept on its first aggregate, pointed at from the others.
            let first = (outcome.retry + outcome.unauthorized + outcome.unknown).first
            func answers(_ ids: [Int64]) -> [(id: Int64, error: String)] {
                ids.map { ($0, $0 == first ? outcome.reason : DeliveryService.sameAnswer(as: first ?? 0, outcome.reason)) }
            }
            // Auth refusals are definite, like retries: the hub did not take them.
            if !outcome.retry.isEmpty || !outcome.unauthorized.isEmpty {
                try store.markRetry(hub: hub.name, answers(outcome.retry + outcome.unauthorized), now: done)
            }
            // No answer: they stay in flight and are reconciled before any resend.
            if !outcome.unknown.isEmpty { try store.markUncertain(hub: hub.name, answers(outcome.unknown), now: done) }
            if !outcome.rejected.isEmpty { try store.markDeadLettered(hub: hub.name, outcome.rejected, now: done) }
        } catch {
            logger.error("cannot update the delivery ledger", metadata: ["hub": "\(hub.name)", "error": "\(error)"])
        }
        metrics.forwarded(hub: hub.name).increment(by: Int64(outcome.delivered.count))
        if let first = outcome.rejected.first {
            metrics.deliveryErrors(hub: hub.name, kind: "rejected").increment(by: Int64(outcome.rejected.count))
            // One line per batch: a hub that refuses a whole batch must not flood the journal.
            logger.error("hub rejected aggregates; dead-lettered (citygate redeliver --hub \(hub.name) sends them again)", metadata: [
                "hub": "\(hub.name)", "count": "\(outcome.rejected.count)", "aggregate": "\(first.id)", "answer": "\(first.error)"])
        }
        if !outcome.delivered.isEmpty {
            logger.debug("aggregates delivered", metadata: ["hub": "\(hub.name)", "count": "\(outcome.delivered.count)"])
        }
    }

    func next(after outcome: Outcome, batchWasFull: Bool) -> Next {
        if outcome.failed || !outcome.rejected.isEmpty {
            let why = outcome.failed ? outcome.reason : (outcome.rejected.first?.error ?? "")
            board.failed(hub.name, error: why, at: GatewayClock.now(), authPaused: !outcome.unauthorized.isEmpty)
        } else {
            board.succeeded(hub.name)
        }
        if !outcome.unauthorized.isEmpty {
            metrics.hubAuthPaused(hub: hub.name).set(Int64(1))
            metrics.deliveryErrors(hub: hub.name, kind: "unauthorized").increment(by: Int64(outcome.unauthorized.count))
            authFailures += 1
            if authFailures == 1 {
                logger.error("hub refuses the gateway's credentials; delivery to it paused, backlog kept (fix the token or client secret file; it is read again on every attempt)",
                             metadata: ["hub": "\(hub.name)", "error": "\(outcome.reason)"])
            } else if authFailures % 10 == 0 {
                logger.warning("hub still refuses the gateway's credentials", metadata: ["hub": "\(hub.name)", "attempts": "\(authFailures)"])
            }
            // Credentials do not fix themselves quickly: wait the full cap between tries.
            return .backoff(Self.backoff(attempt: 18, retryAfterSeconds: nil, capMillis: retryMaxMillis))
        }
        if authFailures > 0 {
            logger.info("hub accepts the gateway's credentials again; delivery resumed", metadata: ["hub": "\(hub.name)", "paused_attempts": "\(authFailures)"])
            authFailures = 0
            metrics.hubAuthPaused(hub: hub.name).set(Int64(0))
        }
        guard outcome.failed else {
            if consecutiveFailures > 0 {
                logger.info("hub reachable again", metadata: ["hub": "\(hub.name)", "failed_attempts": "\(consecutiveFailures)"])
            }
            consecutiveFailures = 0
            return batchWasFull ? .more : .idle(.milliseconds(200))
        }
        if outcome.refused > 0 { metrics.deliveryErrors(hub: hub.name, kind: "refused_row").increment(by: Int64(outcome.refused)) }
        metrics.deliveryErrors(hub: hub.name, kind: outcome.unknown.isEmpty ? "retry" : "no_answer")
            .increment(by: Int64(outcome.retry.count - outcome.refused + outcome.unknown.count))
        consecutiveFailures += 1
        if consecutiveFailures == 1 || consecutiveFailures % 10 == 0 {
            logger.warning("hub delivery failed; will retry", metadata: [
                "hub": "\(hub.name)", "error": "\(outcome.reason)", "pending": "\(outcome.retry.count + outcome.unknown.count)",
                "attempts": "\(consecutiveFailures)"])
        }
        return .backoff(Self.backoff(attempt: consecutiveFailures, retryAfterSeconds: outcome.retryAfter, capMillis: retryMaxMillis))
    }

    enum Reconciliation {
        /// The hub could not be asked: do this instead of sending.
        case stop(Next)
        /// These aggregates the hub already holds (now marked delivered).
        case held(Set<Int64>)
    }

    /// Asks the hub which uncertain aggregates it holds; marks those delivered.
    func reconcile(_ uncertain: [PendingDelivery]) async -> Reconciliation {
        let aggregates = outbound(uncertain)
        let answers = await hub.reconcile(aggregates)
        var outcome = Outcome()
        var held: Set<Int64> = []
        var missing = 0
        for (aggregate, answer) in zip(aggregates, answers) {
            switch answer {
            case nil: missing += 1
            case .delivered?:
                held.insert(aggregate.aggregateID)
                outcome.add(aggregate, answer!)
            case let other?:
                outcome.add(aggregate, other)
            }
        }
        if !outcome.delivered.isEmpty {
            do { try store.markDelivered(hub: hub.name, outcome.delivered, now: GatewayClock.now()) } catch {
                logger.error("cannot update the delivery ledger", metadata: ["hub": "\(hub.name)", "error": "\(error)"])
            }
        }
        metrics.reconciled(hub: hub.name, outcome: "held").increment(by: Int64(held.count))
        metrics.reconciled(hub: hub.name, outcome: "missing").increment(by: Int64(missing))
        if !held.isEmpty || missing > 0 {
            logger.info("checked in-flight aggregates with the hub", metadata: ["hub": "\(hub.name)", "held": "\(held.count)", "missing": "\(missing)"])
        }
        if outcome.failed {
            // Cannot tell now: leave them in flight and try again later.
            return .stop(next(after: outcome, batchWasFull: false))
        }
        return .held(held)
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

    /// The aggregates as the hub sees them, labelled from one snapshot of the registry.
    func outbound(_ items: [PendingDelivery]) -> [OutboundAggregate] {
        let registry = self.registry
        return items.map { outbound($0, registry: registry) }
    }

    func outbound(_ item: PendingDelivery, registry: DeviceRegistry) -> OutboundAggregate {
        let record = item.record
        let isDevice = record.scope == .device
        let device = registry.device(record.group.device)
        // A device known only through a [[codec_rule]] is in its rule's zone.
        let deviceZone = device?.zone ?? (isDevice && device == nil ? (try? store.ruleDevice(record.group.device))?.zone : nil)
        let location = isDevice ? device?.locationText : registry.centroid(of: record.zone ?? "")
        // Where the zone is, for a window that has no position of its own.
        let zoneName = isDevice ? deviceZone : record.zone.flatMap { $0.hasPrefix("zone:") ? String($0.dropFirst(5)) : nil }
        return OutboundAggregate(
            aggregateID: item.aggregateID, revision: item.revision, windowKey: record.windowKey, source: record.group.device,
            kind: record.kind, metric: record.group.metric, channel: record.group.channel,
            window: Window(start: record.group.windowStart, length: record.group.windowLength), statistics: record.statistics,
            hubRef: item.hubRef, deviceName: device?.name, zone: isDevice ? deviceZone : record.zone,
            location: location, areaLocation: location == nil ? zoneName.flatMap(registry.location(ofZone:)) : nil,
            rollup: { if case let .zone(members, total) = record.scope { return (members, total) } else { return nil } }())
    }
}
