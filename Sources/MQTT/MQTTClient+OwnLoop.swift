import CMosquitto
import Dispatch
import FoundationEssentials
import Glibc
import Synchronization

/// The client's own network loop (`start(readBursts: true)`): it reads a
/// whole burst of messages before any acknowledgement is written, so ingest
/// can commit the burst first, and reconnects with backoff and jitter.
extension MQTTClient {
    /// What `stop()` and a withheld burst tell the loop thread.
    final class OwnLoop: Sendable {
        let finished = DispatchSemaphore(value: 0)
        private let flags = Mutex((stopRequested: false, wantConnection: true))
        /// Set by `stop()`: leave the loop once the DISCONNECT is out.
        var stopRequested: Bool { flags.withLock { $0.stopRequested } }
        func requestStop() { flags.withLock { $0.stopRequested = true } }
        /// Cleared when a burst is withheld with `reconnect: false`: do not reconnect after the connection closes.
        var wantsConnection: Bool { flags.withLock { $0.wantConnection && !$0.stopRequested } }
        func dropConnection() { flags.withLock { $0.wantConnection = false } }
    }

    /// Connects (the CONNECT properties of MQTT 5 each time), then polls the
    /// socket: reads a burst, hands it over, writes, keeps the connection
    /// alive; reconnects with backoff and jitter when it drops.
    func runOwnLoop(_ loop: OwnLoop) {
        var failures = 0
        /// Bursts withheld in a row: each waits longer before reconnecting.
        var withheld = 0
        /// When the connection in use was made, and how many in a row the
        /// broker closed within a second: two clients with one client id take
        /// the session from each other, and without a pause both would
        /// reconnect hundreds of times a second (578 in one second, in a benchmark).
        var openedAt: ContinuousClock.Instant?
        var shortLived = 0
        var gathering = BurstGathering()
        func stopping() -> Bool { loop.stopRequested }
        func wantsConnection() -> Bool { loop.wantsConnection }
        /// Sleeps up to `seconds`, waking early when asked to stop.
        func pause(_ seconds: Double) {
            let until = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
            while ContinuousClock.now < until && !stopping() { DedicatedThread.sleep(seconds: 0.05) }
        }
        while true {
            var socket = mosquitto_socket(handle)
            if socket < 0, let opened = openedAt {
                openedAt = nil
                if ContinuousClock.now - opened < .seconds(1) {
                    shortLived += 1
                    pause(backoff(from: 1, attempt: shortLived))
                } else {
                    shortLived = 0
                }
            }
            if socket < 0 {
                guard wantsConnection() else { return }
                let (rc, systemError) = connectNow()
                if rc != MOSQ_ERR_SUCCESS.rawValue {
                    if failures == 0 { noteStartFailure(rc, systemError: systemError) }
                    failures += 1
                    pause(backoff(from: Double(max(options.reconnectMinSeconds, 1)), attempt: failures))
                    continue
                }
                failures = 0
                openedAt = ContinuousClock.now
                socket = mosquitto_socket(handle)
                if socket < 0 { continue }
            }
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN) | (mosquitto_want_write(handle) ? Int16(POLLOUT) : 0), revents: 0)
            let ready = poll(&descriptor, 1, 100)
            if ready > 0 && descriptor.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                // Read while the socket holds more (bounded): one burst. A
                // small burst may wait a little for more (`BurstGathering`).
                var packets = 0
                let began = ContinuousClock.now
                while true {
                    if mosquitto_loop_read(handle, 1) != MOSQ_ERR_SUCCESS.rawValue { break }  // closed; on_disconnect has run
                    packets += 1
                    guard packets < 1_000, mosquitto_socket(handle) == socket else { break }
                    if Self.readable(socket, within: .zero) { continue }
                    guard let wait = gathering.wait(packets: packets, elapsed: ContinuousClock.now - began) else { break }
                    let found = Self.readable(socket, within: wait)
                    gathering.waited(found: found)
                    if !found { break }
                }
                gathering.burstEnded()
                if case let .withhold(reconnect) = onReadBurstEnd?() ?? .acknowledge {
                    abandonConnection(socket)
                    openedAt = nil  // closed on purpose: the pause below is the backoff
                    if !reconnect { loop.dropConnection() }
                    withheld += 1
                    pause(backoff(from: 0.25, attempt: withheld))
                    continue
                }
                withheld = 0
            }
            if mosquitto_socket(handle) >= 0 && mosquitto_want_write(handle) {
                writeCorked(mosquitto_socket(handle))
            }
            if mosquitto_socket(handle) >= 0 { _ = mosquitto_loop_misc(handle) }
            if stopping() && (mosquitto_socket(handle) < 0 || !mosquitto_want_write(handle)) {
                // Stopped while a connection was being made: say goodbye on it too.
                if mosquitto_socket(handle) >= 0 {
                    mosquitto_disconnect(handle)
                    _ = mosquitto_loop_write(handle, 1)
                }
                return
            }
        }
    }

    /// Whether the socket has bytes to read, waiting at most `within`.
    static func readable(_ socket: Int32, within: Duration) -> Bool {
        let (seconds, attoseconds) = within.components
        let nanoseconds = max(0, seconds.multipliedReportingOverflow(by: 1_000_000_000).partialValue + attoseconds / 1_000_000_000)
        return cmosquitto_readable_within(socket, nanoseconds) != 0
    }

    /// Writes what libmosquitto queued (after a burst: one PUBACK per QoS 1
    /// message) with the socket corked, so the kernel sends them as one
    /// segment when it is uncorked instead of one segment per 4-byte PUBACK.
    /// libmosquitto still makes a `write` call per packet, but on loopback
    /// each segment sent also runs the broker's side of TCP in this thread;
    /// corked, that happens once per burst (Benchmarks/RESULTS.md, issue 17).
    /// Uncorking pushes whatever is left at once, so nothing waits for the
    /// kernel's 200 ms cork limit.
    func writeCorked(_ socket: Int32) {
        var on: Int32 = 1, off: Int32 = 0
        let corked = setsockopt(socket, Int32(IPPROTO_TCP), TCP_CORK, &on, socklen_t(MemoryLayout<Int32>.size)) == 0
        _ = mosquitto_loop_write(handle, 1)
        // The write may have closed the connection (libmosquitto then closes
        // the socket); uncork only the socket that is still ours.
        if corked, mosquitto_socket(handle) == socket {
            _ = setsockopt(socket, Int32(IPPROTO_TCP), TCP_CORK, &off, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// Seconds to wait before attempt `attempt` (1, 2, ...) after a failure:
    /// exponential from `first` with jitter on the base, capped at the
    /// reconnect maximum, so gateways restarted together do not retry in step.
    func backoff(from first: Double, attempt: Int) -> Double {
        let base = first * Double.random(in: 1...2)
        return min(base * pow(2, Double(min(attempt - 1, 16))), Double(max(options.reconnectMaxSeconds, 1)))
    }

    /// Closes the connection without writing what libmosquitto queued (the
    /// withheld acknowledgements): the socket is shut down, then read until
    /// libmosquitto sees it closed and runs its disconnect callback. The
    /// queue itself is discarded on the next connect (`mosquitto__reconnect`
    /// cleans every queued packet; eclipse/mosquitto lib/connect.c).
    func abandonConnection(_ socket: Int32) {
        discarding = true
        defer { discarding = false }
        _ = shutdown(socket, Int32(SHUT_RDWR))
        var reads = 0
        while mosquitto_socket(handle) == socket && reads < 100_000 {
            if mosquitto_loop_read(handle, 1) != MOSQ_ERR_SUCCESS.rawValue { break }
            reads += 1
        }
    }
}
