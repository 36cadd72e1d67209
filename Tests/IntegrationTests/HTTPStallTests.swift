import Foundation
import Testing

/// A client that never sends or never reads must not hold up `/health` or
/// `/metrics` (issue 15, item 13): 50 idle connections and one that asks
/// for /metrics and never reads, while probes still answer within 1 s.
@Suite(.serialized) struct HTTPStallTests {
    /// A TCP connection to 127.0.0.1:`port` that the test leaves alone.
    static func connect(_ port: Int, receiveBuffer: Int32? = nil) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Foundation.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return fd
    }

    /// GET /health on a socket of its own (not URLSession, whose own thread
    /// is slow to get CPU while the rest of the suite loads the machine).
    static func probe(_ port: Int) -> (status: String, time: Duration) {
        let started = ContinuousClock.now
        let fd = connect(port)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        let head = count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : ""
        return (head.components(separatedBy: "\r\n").first ?? "", ContinuousClock.now - started)
    }

    @Test func idleAndNonReadingClientsDoNotBlockTheHealthProbe() async throws {
        let directory = try TestEnvironment.temporaryDirectory("http-stall")
        let broker = try await Broker(directory: directory)
        let gateway = try await GatewayProcess(broker: broker, directory: directory)
        let idle = (0..<50).map { _ in Self.connect(gateway.httpPort) }
        let stalled = Self.connect(gateway.httpPort, receiveBuffer: 1024)
        let request = Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(stalled, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        defer { for fd in idle + [stalled] { close(fd) } }

        // Five probes. With the one-thread listener each waited out every idle
        // connection's 2 s read timeout (40-60 s). The ceilings are generous
        // for a loaded CI machine: each within 5 s, the fastest within 1 s.
        var times: [Duration] = []
        for _ in 0..<5 {
            let (status, time) = Self.probe(gateway.httpPort)
            times.append(time)
            #expect(status == "HTTP/1.1 200 OK")
        }
        #expect(times.allSatisfy { $0 < .seconds(5) } && times.min()! < .seconds(1), "probe times: \(times)")
        #expect(try await gateway.metric("citygate_mqtt_connected") == 1)
        FaultMatrix.record("50 idle HTTP clients and one that never reads", sent: 0, acknowledged: 0, stored: 0, storedTwice: 0,
                           up: gateway.process.isRunning, note: "/health answered 5 of 5, fastest \(times.min()!), slowest \(times.max()!)")
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }

    /// Sends `request` and reads until the server closes or `limit` passes.
    static func exchange(_ port: Int, _ request: String, limit: Int = 10) -> (text: String, closed: Bool, time: Duration) {
        let started = ContinuousClock.now
        let fd = connect(port)
        defer { close(fd) }
        var timeout = timeval(tv_sec: limit, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { return (String(decoding: response, as: UTF8.self), true, ContinuousClock.now - started) }
            if count < 0 { return (String(decoding: response, as: UTF8.self), false, ContinuousClock.now - started) }
            response += buffer[..<count]
        }
    }

    /// An HTTP/1.0 client (check_http, `nc`, a shell script) reads until the
    /// server closes: it gets its answer and the close at once, not after
    /// the 30 s idle timeout. One that asks for keep-alive, and any HTTP/1.1
    /// client, keeps its connection.
    /// A listen address another process holds: the gateway says so and
    /// stops (non-zero, so systemd restarts it and the journal says why),
    /// after stopping intake cleanly. It once went on without HTTP and with
    /// its pipeline stalled, saying nothing.
    @Test func anHTTPPortAlreadyTakenIsSaidAndEndsTheGateway() async throws {
        let directory = try TestEnvironment.temporaryDirectory("http-taken")
        let broker = try await Broker(directory: directory)
        let (holder, taken) = try #require(TestEnvironment.boundSocket(listening: true), "a listening socket for the test")
        defer { close(holder) }
        let gateway = try await GatewayProcess(broker: broker, directory: directory, httpPort: taken, waitForHTTP: false)
        let status = await gateway.process.waitForExit(timeout: .seconds(30))
        #expect(status != nil && status != 0, "exit status \(String(describing: status))")
        #expect(gateway.process.log.contains("cannot serve HTTP"), "\(gateway.process.log)")
        #expect(gateway.process.log.contains("Address already in use"), "\(gateway.process.log)")
        #expect(gateway.process.log.contains("stopped taking uplinks"), "\(gateway.process.log)")
        broker.process.forceStop()
    }

    @Test func anHTTP10ClientIsAnsweredAndClosedAtOnce() async throws {
        let directory = try TestEnvironment.temporaryDirectory("http-10")
        let broker = try await Broker(directory: directory)
        let gateway = try await GatewayProcess(broker: broker, directory: directory)
        for (path, body) in [("/metrics", "citygate_uplinks_received_total"), ("/health", "ok"), ("/api/status", "\"version\"")] {
            let port = gateway.httpPort
            let answer = try await offThePool { Self.exchange(port, "GET \(path) HTTP/1.0\r\n\r\n") }
            #expect(answer.closed && answer.time < .seconds(5), "\(path): closed \(answer.closed) after \(answer.time)")
            #expect(answer.text.hasPrefix("HTTP/1.1 200") || answer.text.hasPrefix("HTTP/1.0 200"), "\(path): \(answer.text.prefix(80))")
            #expect(answer.text.contains("\r\n\r\n" + body) || answer.text.contains(body), "\(path) answered without its body: \(answer.text.prefix(200))")
        }
        // Keep-alive asked for, or HTTP/1.1: still open when the 3 s read limit ends.
        for request in ["GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"] {
            let port = gateway.httpPort
            let answer = try await offThePool { Self.exchange(port, request, limit: 3) }
            #expect(!answer.closed && answer.text.contains(" 200 "), "\(request.prefix(24)): closed \(answer.closed), \(answer.text.prefix(40))")
        }
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }
}
