import Foundation
import Logging
import MQTT
import Prometheus
import Readings
import ServiceLifecycle
import Store
import Synchronization

/// MQTT → raw uplink rows. Ingest's only job is to commit the raw bytes,
/// topic and arrival time (with the redelivery check) before the QoS 1
/// PUBACK leaves. The client reads every message the socket holds, then
/// calls back, and only then writes the PUBACKs: a burst is committed in one
/// transaction (Benchmarks/RESULTS.md has what one commit per message cost).
/// Everything else happens later, on the processing service.
// @unchecked: `burst` and `messagesSeen` belong to the MQTT network thread
// (its callbacks run there one at a time); everything else is a `let`, a
// `Mutex` or an `Atomic`.
final class IngestService: Service, @unchecked Sendable {
    let client: MQTTClient
    let store: GatewayStore
    let metrics: GatewayMetrics
    let logger: Logger
    let processorWake: WakeSignal
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
        /// Messages whose commit failed with a full store, kept in memory until
        /// space returns (their PUBACK may already be out). Bounded.
        var spill: [(topic: String, message: [UInt8], received: EpochMillis)] = []
        var paused = false
    }

    private let state = Mutex(LinkState())
    static let spillLimit = 10_000
    private var messagesSeen = 0
    private let committed = Atomic<Int>(0)
    /// Uplinks committed since start (for STATUS=).
    var committedSinceStart: Int { committed.load(ordering: .relaxed) }

    init(options: MQTTOptions, subscriptions: [(String, Int)], context: ServiceContext, processorWake: WakeSignal,
         faults: FaultInjection = .none) throws {
        client = try MQTTClient(options: options)
        store = context.store
        metrics = context.metrics
        logger = context.logger
        self.processorWake = processorWake
        self.subscriptions = subscriptions
        broker = "\(options.host):\(options.port)"
        let duplicates = metrics.duplicates(stage: "redelivery")
        let stallAfter = faults.stallWriterAfter
        // Messages are collected per read burst on libmosquitto's thread and
        // committed together before the client writes their PUBACKs.
        client.onMessage = { [unowned self] topic, payload, _ in
            metrics.uplinksReceived.increment()
            messagesSeen += 1  // only on the network thread
            if let stallAfter, messagesSeen > stallAfter {
                logger.warning("fault injection: stalling the store writer", metadata: ["after": "\(stallAfter)"])
                store.stallWriterForever()
            }
            burst.append((topic, Array(payload), GatewayClock.now()))
        }
        let exitBeforeCommitAfter = faults.exitBeforeCommitAfter
        client.onReadBurstEnd = { [unowned self] in
            guard !burst.isEmpty else { return }
            if let exitBeforeCommitAfter, messagesSeen >= exitBeforeCommitAfter {
                logger.warning("fault injection: exiting before the burst is committed", metadata: ["messages": "\(burst.count)"])
                _exit(70)
            }
            let messages = burst
            burst.removeAll(keepingCapacity: true)
            commit(messages, duplicates: duplicates)
        }
        client.onConnect = { [unowned self] rc in connected(rc) }
        client.onSubscribed = { [unowned self] in subscribed() }
        client.onDisconnect = { [unowned self] rc in
            metrics.mqttConnected.set(Int64(0))
            // libmosquitto calls this again for each failed reconnect
            // attempt; the outage is one line.
            let wasUp = state.withLock { state in
                defer { state.linkUp = false }
                return state.linkUp
            }
            if rc != 0 && wasUp { logger.warning("broker connection lost, reconnecting", metadata: ["broker": "\(broker)", "rc": "\(rc)"]) }
        }
        for (topic, qos) in subscriptions { client.subscribe(topic, qos: qos) }
    }

    /// The messages of the read burst in progress (network thread only).
    private nonisolated(unsafe) var burst: [(topic: String, message: [UInt8], receivedAt: EpochMillis)] = []

    /// Commits a burst in one transaction; each message is stored or a redelivery.
    private func commit(_ messages: [(topic: String, message: [UInt8], receivedAt: EpochMillis)], duplicates: Counter) {
        do {
            let started = ContinuousClock.now
            let results = try store.commitUplinks(messages)
            metrics.commitSeconds.record(ContinuousClock.now - started)
            var stored = 0
            for (result, message) in zip(results, messages) {
                switch result {
                case .stored:
                    stored += 1
                case let .duplicate(of: original):
                    duplicates.increment()
                    logger.debug("duplicate MQTT message dropped", metadata: ["uplink": "\(original)", "topic": "\(message.topic)"])
                }
            }
            metrics.uplinksCommitted.increment(by: Int64(stored))
            committed.add(stored, ordering: .relaxed)
            if stored > 0 { processorWake.wake() }
        } catch let error as SQLiteError where error.isDiskFull {
            // The store is full: stop taking uplinks (the broker keeps them
            // in our persistent session) and hold these until space returns.
            for message in messages { spillAndPause(topic: message.topic, message: message.message, received: message.receivedAt) }
        } catch {
            // Not committed: the PUBACKs still leave (libmosquitto gives no
            // way to withhold them), so this is loud and counted.
            metrics.ingestErrors.increment(by: Int64(messages.count))
            logger.error("could not commit uplinks", metadata: ["uplinks": "\(messages.count)", "first_topic": "\(messages[0].topic)", "error": "\(error)"])
        }
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
    /// that is down at boot is waited out in the background).
    func connect(timeout: Duration) async throws -> Bool {
        try client.start(readBursts: true)
        let deadline = ContinuousClock.now + timeout
        var reported = false
        while ContinuousClock.now < deadline {
            if isSubscribed { return true }
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

    /// The one-line summary in systemd's STATUS= (`systemctl status citygate`).
    var summary: String {
        var parts = [isConnected ? "broker \(broker) connected" : "broker \(broker) DOWN, retrying"]
        if isPaused { parts.append("intake PAUSED (store full)") }
        parts.append("\(committedSinceStart) uplinks committed since start")
        return parts.joined(separator: "; ")
    }

    private func spillAndPause(topic: String, message: [UInt8], received: EpochMillis) {
        let (wasPaused, kept) = state.withLock { state in
            let wasPaused = state.paused
            state.paused = true
            let kept = state.spill.count < Self.spillLimit
            if kept { state.spill.append((topic, message, received)) }
            return (wasPaused, kept)
        }
        if !kept {
            metrics.uplinksLost.increment()
            logger.critical("store full and spill full: uplink lost", metadata: ["topic": "\(topic)"])
        }
        if !wasPaused {
            metrics.intakePaused.set(Int64(1))
            logger.error("store full: intake paused until space returns", metadata: ["broker": "\(broker)"])
            client.disconnect()
        }
    }

    var isPaused: Bool { state.withLock { $0.paused } }

    var spilled: Int { state.withLock { $0.spill.count } }

    /// Stops taking uplinks (the store is near its bound or the disk nearly full).
    func pause(reason: String) {
        let wasPaused = state.withLock { state in
            defer { state.paused = true }
            return state.paused
        }
        guard !wasPaused else { return }
        metrics.intakePaused.set(Int64(1))
        logger.error("intake paused", metadata: ["reason": "\(reason)", "broker": "\(broker)"])
        client.stop()
    }

    /// Commits what was spilled, then takes uplinks again. Returns false (and
    /// stays paused) while the store is still full.
    func resume() -> Bool {
        let pending = state.withLock { $0.spill }
        var recommitted = 0
        for item in pending {
            do {
                if case .stored = try store.commitUplink(topic: item.topic, message: item.message, receivedAt: item.received) {
                    metrics.uplinksCommitted.increment()
                }
                recommitted += 1
            } catch {
                break
            }
        }
        let done = state.withLock { state in
            state.spill.removeFirst(recommitted)
            if state.spill.isEmpty { state.paused = false }
            return state.spill.isEmpty
        }
        guard done else { return false }
        client.stop()  // joins the network thread a callback-side disconnect ended
        do {
            try client.start(readBursts: true)
        } catch {
            logger.error("cannot reconnect after pause", metadata: ["error": "\(error)"])
        }
        metrics.intakePaused.set(Int64(0))
        logger.info("storage available again: intake resumed", metadata: ["spilled_committed": "\(recommitted)"])
        processorWake.wake()
        return true
    }

    func run() async throws {
        try? await gracefulShutdown()
        // Stop taking uplinks first: nothing new is acknowledged after this.
        client.stop()
        logger.info("stopped taking uplinks", metadata: ["broker": "\(broker)"])
    }
}
