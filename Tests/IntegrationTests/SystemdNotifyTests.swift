import Foundation
import Testing

/// A datagram socket standing in for systemd's `$NOTIFY_SOCKET`.
final class NotifySocket: @unchecked Sendable {
    let path: String
    let fd: Int32
    private(set) var messages: [(at: ContinuousClock.Instant, text: String)] = []

    init(directory: String) throws {
        path = directory + "/notify.sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0 else { throw FixtureError("cannot bind \(path)") }
    }

    deinit { close(fd) }

    /// Reads what arrives for `duration`.
    func collect(for duration: Duration) {
        let deadline = ContinuousClock.now + duration
        var buffer = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let remaining = deadline - ContinuousClock.now
            let millis = Int32(max(1, remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000))
            guard poll(&poller, 1, millis) > 0 else { continue }
            let count = recv(fd, &buffer, buffer.count, 0)
            if count > 0 { messages.append((ContinuousClock.now, String(decoding: buffer[0..<count], as: UTF8.self))) }
        }
    }

    /// Collects until a message contains `text` (or the timeout); returns whether it came.
    func waitFor(_ text: String, timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if messages.contains(where: { $0.text.contains(text) }) { return true }
            collect(for: .milliseconds(100))
        }
        return messages.contains { $0.text.contains(text) }
    }

    func count(_ text: String, since instant: ContinuousClock.Instant) -> Int {
        messages.filter { $0.at >= instant && $0.text.contains(text) }.count
    }
}

/// The sd_notify sequence as systemd would receive it (Type=notify, WatchdogSec=).
@Suite(.serialized) struct SystemdNotifyTests {
    @Test func readyWithTheBrokerDownKeepAlivesThroughTheOutageThenStopping() async throws {
        let directory = try TestEnvironment.temporaryDirectory("notify")
        let broker = try await Broker(directory: directory)
        broker.process.forceStop()  // down at boot: must not become a start timeout
        _ = await broker.process.waitForExit(timeout: .seconds(5))
        let socket = try NotifySocket(directory: directory)
        let gateway = try await GatewayProcess(broker: broker, directory: directory,
                                               environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "1000000"])
        #expect(socket.waitFor("READY=1", timeout: .seconds(20)))
        let ready = try #require(socket.messages.first { $0.text.contains("READY=1") })
        #expect(ready.text.contains("STATUS=") && ready.text.contains("DOWN"), "broker state in STATUS: \(ready.text)")
        // The outage is waited out: keep-alives every half watchdog period.
        let since = ContinuousClock.now
        socket.collect(for: .seconds(3))
        #expect(socket.count("WATCHDOG=1", since: since) >= 4)
        gateway.process.signal(SIGTERM)
        #expect(socket.waitFor("STOPPING=1", timeout: .seconds(10)))
        #expect(await gateway.process.waitForExit(timeout: .seconds(15)) == 0)
    }

    @Test func aStuckWriterStopsTheKeepAlives() async throws {
        let directory = try TestEnvironment.temporaryDirectory("notify-stuck")
        let broker = try await Broker(directory: directory)
        let socket = try NotifySocket(directory: directory)
        let gateway = try await GatewayProcess(broker: broker, directory: directory,
                                               environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "1000000",
                                                             "CITYGATE_FAULT_STALL_WRITER_AFTER": "3"])
        #expect(socket.waitFor("READY=1", timeout: .seconds(20)))
        socket.collect(for: .seconds(2))
        #expect(socket.count("WATCHDOG=1", since: .now - .seconds(2)) >= 2, "healthy first")
        _ = try await runSimulator(["--broker", broker.url, "--count", "5", "--rate", "50", "--qos", "0"], directory: directory)
        #expect(socket.waitFor("STUCK: store writer", timeout: .seconds(15)), "the stall is reported in STATUS")
        let stalled = ContinuousClock.now
        socket.collect(for: .seconds(3))
        #expect(socket.count("WATCHDOG=1", since: stalled) == 0, "no keep-alive while the writer is stuck")
        #expect(gateway.process.log.contains("pipeline stuck"))
        gateway.process.forceStop()
        broker.process.forceStop()
    }
}
