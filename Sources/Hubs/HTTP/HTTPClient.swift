import AsyncHTTPClient
import FoundationEssentials
import Readings
import NIOCore
import NIOHTTP1

/// One HTTP exchange as the hubs need it: status, headers, body.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.key.lowercased() == wanted }?.value
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// `Retry-After` in seconds (the delta-seconds form), held to 0...86,400:
    /// the hub's text must not overflow the backoff arithmetic, and a day is
    /// the longest wait a hub gets to impose before the next try.
    public var retryAfterSeconds: Int? {
        header("Retry-After").flatMap { Int(PlainText.trimmingBlanks($0)) }.map { min(max($0, 0), 86_400) }
    }
}

/// A small HTTP client for the hubs over one process-wide AsyncHTTPClient
/// (SwiftNIO: pooled keep-alive connections, TLS verified against the
/// system's trust roots, no thread parked or spinning while the hub thinks),
/// with a deadline per request. Transport failures come back as thrown
/// errors; every HTTP status comes back as a response.
public struct HTTPClient: Sendable {
    public let timeoutSeconds: Double
    /// Hub answers beyond this are refused rather than buffered.
    static let maximumBody = 16 << 20
    /// Of an error answer only this much is kept (the rest is read and
    /// dropped): what is stored and logged of it is 1 KiB at most anyway, and
    /// a hub answering 16 MiB errors must not cost 16 MiB per request.
    static let maximumErrorBody = 64 << 10

    /// Lives as long as the process (so it is never shut down). A refused or
    /// unreachable hub fails the request at once (no retrying the connection
    /// until the deadline): the delivery stage owns retries and backoff, and
    /// logs the outage when it starts. Redirects are not followed: a hub that
    /// moved is a config error to see, not something to POST data after.
    static let transport: AsyncHTTPClient.HTTPClient = {
        var configuration = AsyncHTTPClient.HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5), read: nil)
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.decompression = .disabled
        return AsyncHTTPClient.HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public init(timeoutSeconds: Double = 10) {
        self.timeoutSeconds = timeoutSeconds
    }

    public func send(_ method: String, _ url: String, headers: [String: String] = [:], body: String? = nil) async throws -> HTTPResponse {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            if !request.headers.contains(name: "Content-Type") { request.headers.add(name: "Content-Type", value: "application/json") }
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await Self.transport.execute(request, timeout: .milliseconds(Int64(timeoutSeconds * 1000)))
        var fields: [String: String] = [:]
        for header in response.headers { fields[header.name] = fields[header.name].map { $0 + ", " + header.value } ?? header.value }
        let status = Int(response.status.code)
        guard status >= 400 else {
            let bytes = try await response.body.collect(upTo: Self.maximumBody)
            return HTTPResponse(status: status, headers: fields, body: Array(buffer: bytes))
        }
        var kept: [UInt8] = []
        for try await chunk in response.body where kept.count < Self.maximumErrorBody {
            kept += chunk.readableBytesView.prefix(Self.maximumErrorBody - kept.count)
        }
        return HTTPResponse(status: status, headers: fields, body: kept)
    }
}
