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

    @Test func idleAndNonReadingClientsDoNotBlockTheHealthProbe() async throws {
        let directory = try TestEnvironment.temporaryDirectory("http-stall")
        let broker = try await Broker(directory: directory)
        let gateway = try await GatewayProcess(broker: broker, directory: directory)
        let idle = (0..<50).map { _ in Self.connect(gateway.httpPort) }
        let stalled = Self.connect(gateway.httpPort, receiveBuffer: 1024)
        let request = Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(stalled, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        defer { for fd in idle + [stalled] { close(fd) } }

        for _ in 0..<5 {
            let started = ContinuousClock.now
            let health = await TestEnvironment.get("http://127.0.0.1:\(gateway.httpPort)/health")
            #expect(health?.status == 200)
            #expect(ContinuousClock.now - started < .seconds(1), "a probe answered within 1 s")
        }
        #expect(try await gateway.metric("citygate_mqtt_connected") == 1)
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }
}
