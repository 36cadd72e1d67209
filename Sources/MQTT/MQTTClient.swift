import CMosquitto
import FoundationEssentials
import Glibc
import Synchronization

/// A Swift face over one libmosquitto client running its own network thread:
/// libmosquitto's (`mosquitto_loop_start`, `start()`), which reconnects by
/// itself with the configured backoff, or the client's own
/// (`start(readBursts: true)`), which reads whole bursts and reconnects with
/// the same backoff plus jitter. Subscriptions are renewed on every (re)connect.
///
/// Callbacks run on the network thread. For QoS 1 the PUBACK of a received
/// message is written only after `onMessage` returns (and, with read bursts,
/// after `onReadBurstEnd`), so whatever they commit is durable before the
/// broker forgets the message.
// @unchecked: the callbacks (`on...`) are set before `start` and only read
// after; libmosquitto's handle is thread-safe for the calls made here
// (`mosquitto_threaded_set`); the rest of the state is in `state`.
public final class MQTTClient: @unchecked Sendable {
    /// `packetID`: the MQTT packet identifier (0 for QoS 0). A broker that
    /// redelivers a QoS 1 message to a persistent session resends it with the
    /// same identifier.
    public typealias MessageHandler = @Sendable (_ topic: String, _ payload: UnsafeRawBufferPointer, _ qos: Int, _ packetID: Int) -> Void

    /// What the subscriber makes of a burst it has just been handed.
    public enum BurstDecision: Sendable, Equatable {
        /// Committed: write the burst's acknowledgements.
        case acknowledge
        /// Not committed: close the connection without writing them, so the
        /// broker keeps the messages in the persistent session and sends them
        /// again. `reconnect`: after a backoff (false: stay away until `start`).
        case withhold(reconnect: Bool)
    }

    let handle: OpaquePointer
    let options: MQTTOptions
    /// What the network thread and the callers share.
    private struct State {
        var subscriptions: [(String, Int)] = []
        var connected = false
        var connectCount = 0
        var pendingSubscribes: Set<Int32> = []
        /// The network loop this client runs itself (`start(readBursts: true)`).
        var ownLoop: OwnLoop?
        /// Why the first connection attempt failed.
        var firstFailure: MQTTError?
    }

    private let state = Mutex(State())

    /// Called for every message received.
    public var onMessage: MessageHandler?
    /// Called with the broker's CONNACK code (0 = accepted) after every (re)connect.
    public var onConnect: (@Sendable (Int32) -> Void)?
    /// Called when the connection drops (rc 0 = asked for).
    public var onDisconnect: (@Sendable (Int32) -> Void)?
    /// Called once the broker has acknowledged every subscription after a (re)connect.
    public var onSubscribed: (@Sendable () -> Void)?
    /// Called when a QoS ≥ 1 publish was acknowledged (or a QoS 0 one sent).
    public var onPublished: (@Sendable (Int32) -> Void)?
    /// With `start(readBursts: true)`: called on the network thread after
    /// every burst of messages read and before any acknowledgement of them is
    /// written, so a subscriber can commit a whole burst in one transaction.
    /// What it returns decides whether they are written at all.
    public var onReadBurstEnd: (@Sendable () -> BurstDecision)?
    /// Set (on the network thread) while a withheld connection is torn down:
    /// what is still read from it is not handed on, the broker sends it again.
    nonisolated(unsafe) var discarding = false

    private static let libraryInit: Void = { mosquitto_lib_init() }()

    public init(options: MQTTOptions) throws {
        _ = Self.libraryInit
        self.options = options
        guard let handle = mosquitto_new(options.clientID, options.cleanSession, nil) else {
            throw MQTTError(code: MOSQ_ERR_NOMEM.rawValue, operation: "mosquitto_new")
        }
        self.handle = handle
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        if let username = options.username {
            try check(mosquitto_username_pw_set(handle, username, options.password), "username_pw_set")
        }
        if options.maxInflight >= 0 {
            mosquitto_max_inflight_messages_set(handle, UInt32(options.maxInflight))
        }
        mosquitto_reconnect_delay_set(handle, UInt32(options.reconnectMinSeconds), UInt32(options.reconnectMaxSeconds), true)
        if options.protocolVersion == 5 {
            try check(mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5), "protocol version 5")
        }
        if let tls = options.tls {
            try check(mosquitto_tls_set(handle, tls.caFile, tls.caPath, tls.certFile, tls.keyFile, nil), "tls_set")
            if !tls.verifyPeer {
                try check(mosquitto_tls_opts_set(handle, 0 /* SSL_VERIFY_NONE */, nil, nil), "tls_opts_set")
                try check(mosquitto_tls_insecure_set(handle, true), "tls_insecure_set")
            }
        }
        mosquitto_connect_callback_set(handle) { _, object, rc in
            MQTTClient.from(object)?.handleConnect(rc)
        }
        mosquitto_disconnect_callback_set(handle) { _, object, rc in
            MQTTClient.from(object)?.handleDisconnect(rc)
        }
        mosquitto_message_callback_set(handle) { _, object, message in
            guard let client = MQTTClient.from(object), let message = message?.pointee, let topic = message.topic else { return }
            let payload = UnsafeRawBufferPointer(start: message.payload, count: Int(max(message.payloadlen, 0)))
            guard !client.discarding else { return }
            client.onMessage?(String(cString: topic), payload, Int(message.qos), Int(message.mid))
        }
        mosquitto_subscribe_callback_set(handle) { _, object, mid, _, _ in
            MQTTClient.from(object)?.handleSubscribed(mid)
        }
        mosquitto_publish_callback_set(handle) { _, object, mid in
            MQTTClient.from(object)?.onPublished?(mid)
        }
    }

    deinit {
        // An own loop holds a strong reference to this client until it ends,
        // so by now only libmosquitto's thread can still be running.
        mosquitto_loop_stop(handle, true)
        mosquitto_destroy(handle)
    }

    private static func from(_ object: UnsafeMutableRawPointer?) -> MQTTClient? {
        object.map { Unmanaged<MQTTClient>.fromOpaque($0).takeUnretainedValue() }
    }

    private func check(_ rc: Int32, _ operation: String) throws {
        if rc != MOSQ_ERR_SUCCESS.rawValue { throw MQTTError(code: rc, operation: operation, systemError: errno) }
    }

    private func handleConnect(_ rc: Int32) {
        let topics = state.withLock { state in
            state.connected = rc == 0
            if rc == 0 { state.connectCount += 1 }
            return state.subscriptions
        }
        onConnect?(rc)
        if rc == 0 {
            if topics.isEmpty { onSubscribed?() }
            for (topic, qos) in topics {
                // Under the lock, so the SUBACK cannot be handled before its id is pending.
                state.withLock { state in
                    var mid: Int32 = 0
                    if mosquitto_subscribe(handle, &mid, topic, Int32(qos)) == MOSQ_ERR_SUCCESS.rawValue { state.pendingSubscribes.insert(mid) }
                }
            }
        }
    }

    private func handleSubscribed(_ mid: Int32) {
        let allDone = state.withLock { state in
            state.pendingSubscribes.remove(mid) != nil && state.pendingSubscribes.isEmpty
        }
        if allDone { onSubscribed?() }
    }

    private func handleDisconnect(_ rc: Int32) {
        state.withLock { $0.connected = false }
        if rc != 0 {
            // libmosquitto's backoff has no jitter: a random base per outage
            // keeps a fleet of gateways from reconnecting in step after a broker restart.
            let base = UInt32(max(options.reconnectMinSeconds, 1))
            mosquitto_reconnect_delay_set(handle, UInt32.random(in: base...(2 * base)), UInt32(max(options.reconnectMaxSeconds, 1)), true)
        }
        onDisconnect?(rc)
    }

    public var isConnected: Bool { state.withLock { $0.connected } }

    /// How many times the client has connected (1 + reconnects).
    public var connections: Int { state.withLock { $0.connectCount } }

    /// Starts the network thread and connects in the background. A broker
    /// that is down is not an error here: the thread keeps retrying.
    ///
    /// `readBursts`: run the client's own loop instead of libmosquitto's: it
    /// reads every message the socket holds (a burst), calls
    /// `onReadBurstEnd`, and only then writes what libmosquitto queued
    /// (the QoS 1 PUBACKs of that burst). libmosquitto's loop reads one
    /// packet and writes its PUBACK before reading the next, so a subscriber
    /// that must commit before acknowledging pays one transaction per message.
    public func start(readBursts: Bool) throws {
        guard readBursts else { return try start() }
        guard state.withLock({ $0.ownLoop == nil }) else { return }
        // Queued packets wait for our loop's write step instead of being
        // written from whichever thread queued them.
        try check(mosquitto_threaded_set(handle, true), "threaded_set")
        let loop = OwnLoop()
        state.withLock { $0.ownLoop = loop }
        DedicatedThread.start(name: "citygate-mqtt") { [self] in
            runOwnLoop(loop)
            loop.finished.signal()
        }
    }

    /// One connection attempt: MQTT 5 with its CONNECT properties, else 3.1.1.
    /// The result code, and `errno` as the call left it (for MOSQ_ERR_ERRNO).
    func connectNow() -> (rc: Int32, systemError: Int32) {
        guard options.protocolVersion == 5 else {
            let rc = mosquitto_connect(handle, options.host, Int32(options.port), Int32(options.keepAliveSeconds))
            return (rc, errno)
        }
        var properties: OpaquePointer?
        mosquitto_property_add_int32(&properties, Int32(MQTT_PROP_SESSION_EXPIRY_INTERVAL.rawValue), options.sessionExpirySeconds)
        defer { mosquitto_property_free_all(&properties) }
        let rc = mosquitto_connect_bind_v5(handle, options.host, Int32(options.port), Int32(options.keepAliveSeconds), nil, properties)
        return (rc, errno)
    }

    public func start() throws {
        guard options.protocolVersion == 5 else {
            let rc = mosquitto_connect_async(handle, options.host, Int32(options.port), Int32(options.keepAliveSeconds))
            let systemError = errno
            if rc == MOSQ_ERR_INVAL.rawValue || rc == MOSQ_ERR_NOMEM.rawValue {
                throw MQTTError(code: rc, operation: "connect to \(options.host):\(options.port)")
            }
            // Refused, unreachable, a name that does not resolve yet, a TLS
            // handshake that fails: all may mend (a broker coming up, a
            // certificate renewed), so the loop thread keeps reconnecting.
            if rc != MOSQ_ERR_SUCCESS.rawValue { noteStartFailure(rc, systemError: systemError) }
            try check(mosquitto_loop_start(handle), "loop_start")
            return
        }
        // MQTT 5 CONNECT properties (the session expiry) go only through the
        // blocking connect; libmosquitto keeps them for every reconnect. It
        // runs on a thread of its own so an unreachable broker cannot hold start-up.
        DedicatedThread.start(name: "citygate-mqtt-connect") { [self] in
            let (rc, systemError) = connectNow()
            if rc != MOSQ_ERR_SUCCESS.rawValue { noteStartFailure(rc, systemError: systemError) }
            // Connected or not, the loop thread takes over (and reconnects).
            mosquitto_loop_start(handle)
        }
    }

    /// Why the first connection attempt failed (the loop thread retries), for the log.
    public var startFailure: MQTTError? { state.withLock { $0.firstFailure } }

    func noteStartFailure(_ rc: Int32, systemError: Int32) {
        let failure = MQTTError(code: rc, operation: "connect to \(options.host):\(options.port)", systemError: systemError)
        state.withLock { $0.firstFailure = failure }
    }

    /// Subscribes now (if connected) and after every reconnect.
    public func subscribe(_ topic: String, qos: Int) {
        let isUp = state.withLock { state in
            state.subscriptions.append((topic, qos))
            return state.connected
        }
        if isUp { mosquitto_subscribe(handle, nil, topic, Int32(qos)) }
    }

    /// Queues a publish; returns its message id.
    ///
    /// At QoS 1 and 2 a message published while the connection is down is
    /// not lost: libmosquitto appends it to its outgoing queue before it
    /// tries to send (`message__queue`, lib/messages_mosq.c) and sends it
    /// once the connection is back, answering MOSQ_ERR_NO_CONN meanwhile.
    /// That is a publish, not a failure. (The simulator counted those as
    /// errors and never as sent, and its report said fewer were sent than
    /// acknowledged after a broker restart.) At QoS 0 it is a failure.
    @discardableResult
    public func publish(_ topic: String, payload: [UInt8], qos: Int, retain: Bool = false) throws -> Int32 {
        var mid: Int32 = 0
        let rc = payload.withUnsafeBytes { bytes in
            mosquitto_publish(handle, &mid, topic, Int32(bytes.count), bytes.baseAddress, Int32(qos), retain)
        }
        if rc == MOSQ_ERR_NO_CONN.rawValue && qos > 0 && mid != 0 { return mid }
        try check(rc, "publish")
        return mid
    }

    /// Disconnects cleanly and stops the network thread.
    public func stop() {
        let loop = state.withLock { state in
            defer { state.ownLoop = nil }
            return state.ownLoop
        }
        loop?.requestStop()
        mosquitto_disconnect(handle)
        if let loop {
            loop.finished.wait()
        } else {
            mosquitto_loop_stop(handle, false)
        }
    }

    /// Waits up to `timeout` for the first successful connection.
    public func waitUntilConnected(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if isConnected { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return isConnected
    }
}
