import FoundationEssentials
import Glibc
import Logging
import MQTT
import Prometheus
import Readings
import ServiceLifecycle
import Store
import Synchronization

/// MQTT → uplink rows, decoded. Ingest commits the raw bytes, topic and
/// arrival time (with the redelivery check) before the QoS 1 PUBACK leaves,
/// and with them what the burst decoded to (`BurstRecorder`). The client
/// reads every message the socket holds, then calls back, and only then
/// writes the PUBACKs: a burst is committed in one transaction
/// (Benchmarks/RESULTS.md has what one commit per message cost).
/// A burst that cannot be committed (busy, I/O error, read-only, full) is
/// not acknowledged at all: the client drops the connection without writing
/// its PUBACKs, and the broker sends it again. No acknowledged uplink ever
/// exists only in memory. Windows, roll-ups and delivery happen later, on
/// their services; the processing service decodes what ingest left pending.
// @unchecked: `burst` and `messagesSeen` belong to the MQTT network thread
// (its callbacks run there one at a time); everything else is a `let`, a
// `Mutex` or an `Atomic`.
final class IngestService: Service, @unchecked Sendable {
    let client: MQTTClient
    let store: GatewayStore
    let metrics: GatewayMetrics
    let logger: Logger
    let processorWake: WakeSignal
    let recorder: BurstRecorder
    let reporter: ProcessingReport
    let subscriptions: [(String, Int)]
    let broker: String
    /// The broker link and intake, as the callbacks and the services see them.
    private struct LinkState {
        var hasConnected = false
        var hasSubscribed = false
        /// Up since the last successful connect: a disconnect is an outage
        /// (logged once), further failed attempts are not.
        var linkUp = false
        var failedConnects = 0
        /// Why intake is paused (nil: it is not): the store is full or near
        /// its bound. No message is held in memory meanwhile: the broker
        /// keeps them in the persistent session.
        var pausedBecause: String?
        /// The last commit failed (and why): its burst was not acknowledged.
        var commitFailure: String?
    }

    private let state = Mutex(LinkState())
    private var messagesSeen = 0
    private let committed = Atomic<Int>(0)
    private let failureLines = LogRateLimiter(burst: 3, period: .seconds(60))
    /// Uplinks committed since start (for STATUS=).
    var committedSinceStart: Int { committed.load(ordering: .relaxed) }

    init(options: MQTTOptions, subscriptions: [(String, Int)], maxPayloadBytes: Int = 64 << 10, context: ServiceContext,
         processorWake: WakeSignal) throws {
        client = try MQTTClient(options: options)
        store = context.store
        metrics = context.metrics
        logger = context.logger
        self.processorWake = processorWake
        recorder = BurstRecorder(context: context)
        reporter = ProcessingReport(metrics: context.metrics, logger: context.logger, latenessMillis: context.settings.current.latenessMillis)
        self.subscriptions = subscriptions
        broker = "\(options.host):\(options.port)"
        let duplicates = metrics.duplicates(stage: "redelivery")
        let stallAfter = context.faults.stallWriterAfter
        // Messages are collected per read burst on libmosquitto's thread and
        // committed together before the client writes their PUBACKs.
        client.onMessage = { [unowned self] topic, payload, qos, packetID in
            metrics.uplinksReceived.increment()
            messagesSeen += 1  // only on the network thread
            if let stallAfter, messagesSeen > stallAfter {
                logger.warning("fault injection: stalling the store writer", metadata: ["after": "\(stallAfter)"])
                store.stallWriterForever()
            }
            let delivery = qos > 0 ? BrokerDelivery(packetID: packetID, connectedAt: connectedAt) : nil
            guard payload.count <= maxPayloadBytes else {
                // Not copied whole: its length, digest and first bytes are what is kept.
                let oversized = OversizedMessage(length: payload.count, limit: maxPayloadBytes,
                                                 sha256Hex: MessageDigest.sha256Hex(payload))
                burst.append(ArrivedMessage(topic: topic, message: Array(payload.prefix(OversizedMessage.keptBytes)), receivedAt: GatewayClock.now(),
                                            delivery: delivery, oversized: oversized))
                return
            }
            burst.append(ArrivedMessage(topic: topic, message: Array(payload), receivedAt: GatewayClock.now(), delivery: delivery))
        }
        let exitBeforeCommitAfter = context.faults.exitBeforeCommitAfter
        client.onReadBurstEnd = { [unowned self] in
            guard !burst.isEmpty else { return .acknowledge }
            if let exitBeforeCommitAfter, messagesSeen >= exitBeforeCommitAfter {
                logger.warning("fault injection: exiting before the burst is committed", metadata: ["messages": "\(burst.count)"])
                _exit(70)
            }
            let messages = burst
            burst.removeAll(keepingCapacity: true)
            return commit(messages, duplicates: duplicates)
        }
        client.onConnect = { [unowned self] rc in
            if rc == 0 {
                connectedAt = GatewayClock.now()  // network thread
                // A burst withheld on a connection that was already gone has
                // no disconnect of its own to excuse: not the next one's.
                withholding = false
            }
            connected(rc)
        }
        client.onSubscribed = { [unowned self] in subscribed() }
        client.onDisconnect = { [unowned self] rc in
            metrics.mqttConnected.set(Int64(0))
            // libmosquitto calls this again for each failed reconnect
            // attempt; the outage is one line.
            let wasUp = state.withLock { state in
                defer { state.linkUp = false }
                return state.linkUp
            }
            // A burst withheld closes the connection on purpose: its line was the commit's.
            let onPurpose = withholding
            withholding = false
            guard rc != 0 && wasUp && !onPurpose else { return }
            let lived = GatewayClock.now() - connectedAt
            if lived < 1000 {
                // Closed by the broker right after it accepted the connection:
                // most often a second client with this client id taking the session.
                logger.warning("broker connection lost right after connecting; another client with the same client_id? reconnecting with backoff",
                               metadata: ["broker": "\(broker)", "rc": "\(rc)", "connected_ms": "\(lived)"])
            } else {
                logger.warning("broker connection lost, reconnecting", metadata: ["broker": "\(broker)", "rc": "\(rc)"])
            }
        }
        for (topic, qos) in subscriptions { client.subscribe(topic, qos: qos) }
    }

    /// The messages of the read burst in progress (network thread only).
    private nonisolated(unsafe) var burst: [ArrivedMessage] = []
    /// When the current broker connection was made (network thread only):
    /// only a message committed before it can come back as a redelivery.
    private nonisolated(unsafe) var connectedAt: EpochMillis = 0
    /// Set (network thread only) when a burst is withheld: the disconnect
    /// that follows is ours.
    private nonisolated(unsafe) var withholding = false

    /// Commits a burst in one transaction; each message is stored or a
    /// redelivery. A burst that is not committed is not acknowledged either:
    /// the client drops the connection without writing its PUBACKs and the
    /// broker sends it again (after a backoff, or once space returns).
    private func commit(_ messages: [ArrivedMessage], duplicates: Counter) -> MQTTClient.BurstDecision {
        do {
            try commitAndCount(messages[...], duplicates: duplicates)
        } catch {
            // A burst the room left cannot hold whole (after a pause the
            // client reads up to 1,000 of the queued messages as one burst,
            // more than a small bound's reserve) would fail the same way at
            // every resume. What fits is committed, in halves; the rest is
            // withheld, and the broker's resend of the committed part is
            // recognised as redeliveries, so each resume moves the queue on.
            guard (error as? SQLiteError)?.isDiskFull == true, messages.count > 1 else {
                return withhold(messages, committedPart: 0, error: error)
            }
            let (committedPart, stop) = commitWhatFits(messages[...], duplicates: duplicates)
            // Every part fitted (space came meanwhile): all of it is on disk.
            if let stop { return withhold(messages, committedPart: committedPart, error: stop) }
        }
        let mended = state.withLock { state in
            defer { state.commitFailure = nil }
            return state.commitFailure
        }
        if let mended {
            metrics.commitFailing.set(Int64(0))
            logger.notice("uplinks commit again", metadata: ["last_error": "\(mended)"])
        }
        return .acknowledge
    }

    /// Commits `messages` in one transaction and counts what became of them.
    private func commitAndCount(_ messages: ArraySlice<ArrivedMessage>, duplicates: Counter) throws {
        let started = ContinuousClock.now
        let committed = try recorder.commit(Array(messages))
        metrics.commitSeconds.record(ContinuousClock.now - started)
        var stored = 0
        for (result, message) in zip(committed.results, messages) {
            switch result {
            case .stored:
                stored += 1
                if let oversized = message.oversized {
                    metrics.quarantined(reason: QuarantineReason.oversized.rawValue).increment()
                    logger.warning("oversized message quarantined", metadata: [
                        "topic": "\(BoundedText.prefix(message.topic, maxBytes: 200))", "bytes": "\(oversized.length)",
                        "limit": "\(oversized.limit)", "sha256": "\(oversized.sha256Hex)"])
                }
            case let .duplicate(of: original):
                duplicates.increment()
                logger.debug("duplicate MQTT message dropped", metadata: ["uplink": "\(original)", "topic": "\(message.topic)"])
            }
        }
        metrics.uplinksCommitted.increment(by: Int64(stored))
        self.committed.add(stored, ordering: .relaxed)
        reporter.report(committed.recorded, committed.summary)
        if let failure = committed.recordFailure, let suppressed = failureLines.admit("record") {
            logger.error("could not record the burst's decoded uplinks: committed undecoded, the processing service decodes them",
                         metadata: ["uplinks": "\(messages.count)", "error": "\(failure)", "suppressed": "\(suppressed)"])
        }
        if committed.pending > 0 { processorWake.wake() }
    }

    /// Commits the leading messages of `messages` that fit, halving what a
    /// full store refuses. Returns how many were committed and the error that
    /// stopped it (nil: all of them were).
    private func commitWhatFits(_ messages: ArraySlice<ArrivedMessage>, duplicates: Counter) -> (Int, (any Error)?) {
        let middle = messages.startIndex + messages.count / 2
        var committed = 0
        for part in [messages[..<middle], messages[middle...]] {
            do {
                try commitAndCount(part, duplicates: duplicates)
                committed += part.count
            } catch {
                guard part.count > 1, (error as? SQLiteError)?.isDiskFull == true else { return (committed, error) }
                let (more, stop) = commitWhatFits(part, duplicates: duplicates)
                if let stop { return (committed + more, stop) }
                committed += more
            }
        }
        return (committed, nil)
    }

    /// The burst is not acknowledged: said (rate-limited, with what fills the
    /// store when it is full), and intake paused on a full store.
    private func withhold(_ messages: [ArrivedMessage], committedPart: Int, error: any Error) -> MQTTClient.BurstDecision {
        let full = (error as? SQLiteError)?.isDiskFull == true
        state.withLock { $0.commitFailure = "\(error)" }
        metrics.ingestErrors.increment(by: Int64(messages.count - committedPart))
        metrics.commitFailing.set(Int64(1))
        if let suppressed = failureLines.admit(full ? "full" : "other") {
            var fields: Logger.Metadata = ["uplinks": "\(messages.count)", "first_topic": "\(messages[0].topic)", "error": "\(error)",
                                           "suppressed": "\(suppressed)"]
            if committedPart > 0 { fields["committed_first"] = "\(committedPart)" }
            // Full of what: the database's pages against SQLite's limit
            // (the bound and its reserve), or else the disk.
            if full, let usage = try? store.usage() {
                fields["pages"] = "\(usage.pages)"
                fields["free_pages"] = "\(usage.freePages)"
                fields["page_limit"] = "\(usage.limitPages)"
            }
            logger.error(full ? "store full: uplinks not acknowledged, the broker keeps them" : "could not commit uplinks: not acknowledged, the broker sends them again",
                         metadata: fields)
        }
        // The connection is closed on purpose: not an outage to report.
        withholding = true
        guard full else { return .withhold(reconnect: true) }
        // The store is full: stay away until the storage guard has made
        // room (it calls `resume`).
        markPaused(reason: Self.storeFull)
        return .withhold(reconnect: false)
    }

    private func connected(_ rc: Int32) {
        if rc == 0 {
            let (first, failures) = state.withLock { state in
                defer { state.hasConnected = true; state.linkUp = true; state.failedConnects = 0 }
                return (!state.hasConnected, state.failedConnects)
            }
            metrics.mqttConnected.set(Int64(1))
            metrics.mqttConnects.increment()
            logger.info(first ? "connected to broker" : "reconnected to broker",
                        metadata: ["broker": "\(broker)", "failed_attempts": "\(failures)"])
        } else {
            let count = state.withLock { state in
                state.failedConnects += 1
                return state.failedConnects
            }
            // The first refusal is logged; after that, one line per 10 tries.
            if count == 1 || count % 10 == 0 {
                logger.warning("broker refused connection", metadata: ["broker": "\(broker)", "rc": "\(rc)", "attempts": "\(count)"])
            }
        }
    }

    private func subscribed() {
        state.withLock { $0.hasSubscribed = true }
        logger.info("subscribed", metadata: ["topics": "\(subscriptions.map(\.0).joined(separator: ","))"])
    }

    /// Connects and returns once subscribed, or after `timeout` (a broker
    /// that is down at boot is waited out in the background), or as soon as
    /// `stopRequested` says a stop came meanwhile (it is not held for the wait).
    func connect(timeout: Duration, stopRequested: () -> Bool = { false }) async throws -> Bool {
        try client.start(readBursts: true)
        let deadline = ContinuousClock.now + timeout
        var reported = false
        while ContinuousClock.now < deadline {
            if isSubscribed { return true }
            if stopRequested() { return false }
            // The first failed attempt is said at once (the wait goes on: a
            // broker that is starting may still answer within it).
            if !reported, let failure = client.startFailure {
                logger.warning("cannot connect to the broker yet, retrying", metadata: ["broker": "\(broker)", "error": "\(failure)"])
                reported = true
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        var fields: Logger.Metadata = ["broker": "\(broker)"]
        if let failure = client.startFailure { fields["error"] = "\(failure)" }
        logger.warning("broker not reachable yet, retrying in the background", metadata: fields)
        return isSubscribed
    }

    var isSubscribed: Bool { state.withLock { $0.hasSubscribed } }

    var isConnected: Bool { client.isConnected }

    /// For `/health/ready`: the broker link is up, intake is not paused and
    /// the last burst was committed.
    var readiness: (ready: Bool, detail: String) {
        let (paused, failure) = state.withLock { ($0.pausedBecause, $0.commitFailure) }
        if let failure { return (false, "not ready: uplinks cannot be committed (\(BoundedText.prefix(failure, maxBytes: 200)))") }
        if let paused { return (false, "not ready: intake paused (\(paused))") }
        return isConnected ? (true, "ready: broker connected") : (false, "not ready: broker not connected")
    }

    /// The one-line summary in systemd's STATUS= (`systemctl status citygate`).
    var summary: String {
        var parts = [isConnected ? "broker \(broker) connected" : "broker \(broker) DOWN, retrying"]
        if let paused = state.withLock({ $0.pausedBecause }) { parts.append("intake PAUSED (\(paused))") }
        if state.withLock({ $0.commitFailure }) != nil { parts.append("COMMITS FAILING") }
        parts.append("\(committedSinceStart) uplinks committed since start")
        return parts.joined(separator: "; ")
    }

    var isPaused: Bool { state.withLock { $0.pausedBecause != nil } }

    /// Why intake is paused, or why commits fail; nil while it runs.
    var pauseReason: String? {
        state.withLock { $0.commitFailure.map { "uplinks cannot be committed: \(BoundedText.prefix($0, maxBytes: 200))" } ?? $0.pausedBecause }
    }

    /// Paused because a commit met a full store (SQLITE_FULL), not by the guard's marks.
    var isPausedOnFullStore: Bool { state.withLock { $0.pausedBecause == Self.storeFull } }
    static let storeFull = "store full"

    /// Returns whether intake was running until now.
    @discardableResult
    private func markPaused(reason: String) -> Bool {
        let wasRunning = state.withLock { state in
            defer { state.pausedBecause = state.pausedBecause ?? reason }
            return state.pausedBecause == nil
        }
        if wasRunning {
            metrics.intakePaused.set(Int64(1))
            logger.error("intake paused until space returns", metadata: ["reason": "\(reason)", "broker": "\(broker)"])
        }
        return wasRunning
    }

    /// Stops taking uplinks (the store is near its bound or the disk nearly full).
    func pause(reason: String) {
        guard markPaused(reason: reason) else { return }
        client.stop()
    }

    /// Takes uplinks again: reconnects, and the broker sends what it kept.
    func resume() {
        guard state.withLock({ $0.pausedBecause != nil }) else { return }
        client.stop()  // joins a network thread that left after a withheld burst
        do {
            try client.start(readBursts: true)
        } catch {
            logger.error("cannot reconnect after pause", metadata: ["error": "\(error)"])
            return
        }
        state.withLock { $0.pausedBecause = nil }
        metrics.intakePaused.set(Int64(0))
        logger.info("storage available again: intake resumed", metadata: ["broker": "\(broker)"])
    }

    func run() async throws {
        try? await gracefulShutdown()
        // Stop taking uplinks first: nothing new is acknowledged after this.
        client.stop()
        logger.info("stopped taking uplinks", metadata: ["broker": "\(broker)"])
    }
}
