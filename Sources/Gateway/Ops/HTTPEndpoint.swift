import Foundation
import Synchronization

/// A minimal HTTP/1.1 listener for `/metrics` and `/health` on a loopback
/// port: one request per connection, GET only. Each connection is served on
/// a thread of its own (at most `maxConnections` at once; more are closed at
/// once), with a 2 s limit on every read and write and 5 s on the whole
/// request, so a client that never sends or never reads cannot hold up the
/// next scrape or health probe.
///
/// SO_REUSEADDR is set so a restarted daemon can rebind at once.
// @unchecked: `listener`, `thread` and `boundPort` are set by `start` before
// the serving thread exists and not changed after; the stop flag is a Mutex.
public final class HTTPEndpoint: @unchecked Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var contentType: String
        public var body: [UInt8]
        public init(status: Int, contentType: String = "text/plain; charset=utf-8", body: [UInt8]) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }
    }

    /// The path, and the query's parameters (percent-decoded; `+` is a space).
    public typealias Handler = @Sendable (_ path: String, _ query: [String: String]) -> Response

    private let handler: Handler
    private var listener: Int32 = -1
    private let stopping = Mutex(false)
    private var thread: Thread?
    public private(set) var boundPort: Int = 0
    private let connections = Atomic<Int>(0)
    public static let maxConnections = 128

    public init(handler: @escaping Handler) { self.handler = handler }

    public struct BindError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Binds and starts serving on its own thread.
    public func start(host: String, port: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BindError(description: "socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let resolved = host == "localhost" ? "127.0.0.1" : host
        guard inet_pton(AF_INET, resolved, &address.sin_addr) == 1 else {
            close(fd)
            throw BindError(description: "'\(host)' is not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw BindError(description: "cannot listen on \(host):\(port): \(message)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        boundPort = Int(UInt16(bigEndian: actual.sin_port))
        listener = fd
        let thread = Thread { [self] in serve() }
        thread.name = "citygate-http"
        self.thread = thread
        thread.start()
    }

    public func stop() {
        let fd = stopping.withLock { stopping in
            defer { stopping = true }
            return stopping ? -1 : listener
        }
        if fd >= 0 {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
    }

    private var isStopping: Bool { stopping.withLock { $0 } }

    private func serve() {
        let fd = listener
        while !isStopping {
            var pollfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pollfd, 1, 200)
            if ready <= 0 { continue }
            let client = accept(fd, nil, nil)
            if client < 0 { continue }
            guard connections.add(1, ordering: .relaxed).newValue <= Self.maxConnections else {
                connections.subtract(1, ordering: .relaxed)
                close(client)
                continue
            }
            let worker = Thread { [self] in
                handle(client)
                connections.subtract(1, ordering: .relaxed)
            }
            worker.name = "citygate-http-client"
            worker.start()
        }
    }

    /// `kind=parking&page=2` → ["kind": "parking", "page": "2"]; the last of a repeated name wins.
    static func parameters(_ query: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decoded(_ text: Substring) -> String {
                text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            guard let name = parts.first, !name.isEmpty else { continue }
            result[decoded(name)] = parts.count > 1 ? decoded(parts[1]) : ""
        }
        return result
    }

    private func handle(_ client: Int32) {
        defer { close(client) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let deadline = ContinuousClock.now + .seconds(5)
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        // Read until the end of the headers (or 16 KiB, or a timeout).
        while request.count < 16_384 && ContinuousClock.now < deadline {
            let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            request += buffer[0..<count]
            if request.count >= 4 && request.suffix(4) == [13, 10, 13, 10] { break }
            if let text = String(bytes: request, encoding: .utf8), text.contains("\r\n\r\n") || text.contains("\n\n") { break }
        }
        let firstLine = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self).split(separator: " ")
        let response: Response
        if firstLine.count < 2 {
            response = Response(status: 400, body: Array("bad request\n".utf8))
        } else if firstLine[0] != "GET" && firstLine[0] != "HEAD" {
            response = Response(status: 405, body: Array("only GET\n".utf8))
        } else {
            let target = firstLine[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
            response = handler(String(target.first ?? "/"), target.count > 1 ? Self.parameters(String(target[1])) : [:])
        }
        let reason = [200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error",
                      503: "Service Unavailable"][response.status] ?? "Status"
        var head = "HTTP/1.1 \(response.status) \(reason)\r\nContent-Type: \(response.contentType)\r\nCache-Control: no-store\r\n"
        head += "Content-Length: \(response.body.count)\r\nConnection: close\r\n\r\n"
        var bytes = Array(head.utf8)
        if firstLine.first != "HEAD" { bytes += response.body }
        var offset = 0
        while offset < bytes.count && ContinuousClock.now < deadline {
            let sent = bytes.withUnsafeBytes { send(client, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { break }
            offset += sent
        }
    }
}
