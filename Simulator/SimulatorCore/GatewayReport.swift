import Foundation

/// What the gateway says about a load run, from its `/metrics`: counters
/// taken before and after the run, so other traffic before it does not count.
public struct GatewaySnapshot: Sendable, Equatable {
    public var received: Double = 0
    public var committed: Double = 0
    public var frameDuplicates: Double = 0
    public var redeliveries: Double = 0
    public var quarantined: Double = 0
    public var pending: Double = 0
    /// Uplinks through the gateway's envelope stage (decoded, quarantined or deduplicated).
    public var processed: Double = 0
    /// Network-server events (join, status, ...): committed, but not uplinks.
    public var events: Double = 0
    /// Distinct uplinks kept: committed messages, less copies recognised as
    /// duplicate frames and network events (joins are not uplinks).
    public var distinctUplinks: Int { Int(committed - frameDuplicates - events) }

    /// The gateway keeps `expected` distinct uplinks, every one decoded: a
    /// load run's wait for the gateway ends here. Copies (a broker's
    /// redeliveries, a publisher's resends) do not count toward it.
    public func keeps(_ expected: Int) -> Bool {
        distinctUplinks >= expected && processed >= committed
    }
    /// `process_cpu_seconds_total` (a delta: CPU the gateway spent on the run).
    public var cpuSeconds: Double = 0
    /// `process_resident_memory_bytes` when read (not a delta).
    public var residentBytes: Double = 0
    /// `citygate_uplink_ingest_latency_seconds` buckets: (upper bound s, cumulative count).
    public var latencyBuckets: [(le: Double, count: Double)] = []

    public init() {}

    public static func == (a: GatewaySnapshot, b: GatewaySnapshot) -> Bool {
        a.received == b.received && a.committed == b.committed && a.frameDuplicates == b.frameDuplicates
            && a.quarantined == b.quarantined && a.pending == b.pending && a.processed == b.processed
    }

    /// Reads the Prometheus text format (`name{labels} value` lines).
    public static func parse(_ text: String) -> GatewaySnapshot {
        var snapshot = GatewaySnapshot()
        var buckets: [(Double, Double)] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            // Counts are reported as Int: a sample that is not a finite count
            // (NaN, +Inf, absurdly large) is not taken rather than trapping later.
            guard parts.count >= 2, let value = Double(parts[1]), value.isFinite, abs(value) < 1e15 else { continue }
            let series = String(parts[0])
            let name = series.split(separator: "{").first.map(String.init) ?? series
            switch name {
            case "citygate_uplinks_received_total": snapshot.received += value
            case "citygate_uplinks_committed_total": snapshot.committed += value
            case "citygate_uplinks_duplicate_total":
                if series.contains("stage=\"frame\"") { snapshot.frameDuplicates += value } else { snapshot.redeliveries += value }
            case "citygate_uplinks_quarantined_total": snapshot.quarantined += value
            case "citygate_uplinks_pending": snapshot.pending = value
            case "citygate_uplinks_processed_total": snapshot.processed += value
            case "citygate_network_events_total": snapshot.events += value
            case "process_cpu_seconds_total": snapshot.cpuSeconds = value
            case "process_resident_memory_bytes": snapshot.residentBytes = value
            case "citygate_uplink_ingest_latency_seconds_bucket":
                guard let range = series.range(of: "le=\""), let end = series[range.upperBound...].firstIndex(of: "\"") else { continue }
                let bound = String(series[range.upperBound..<end])
                buckets.append((bound == "+Inf" ? .infinity : Double(bound) ?? .infinity, value))
            default: break
            }
        }
        snapshot.latencyBuckets = buckets.sorted { $0.0 < $1.0 }.map { (le: $0.0, count: $0.1) }
        return snapshot
    }

    /// The run's share: `after` minus `before`, bucket by bucket.
    public static func delta(_ after: GatewaySnapshot, _ before: GatewaySnapshot) -> GatewaySnapshot {
        var d = after
        d.received -= before.received
        d.committed -= before.committed
        d.frameDuplicates -= before.frameDuplicates
        d.redeliveries -= before.redeliveries
        d.quarantined -= before.quarantined
        d.processed -= before.processed
        d.events -= before.events
        d.cpuSeconds -= before.cpuSeconds
        let earlier = Dictionary(before.latencyBuckets.map { ($0.le, $0.count) }, uniquingKeysWith: +)
        d.latencyBuckets = after.latencyBuckets.map { (le: $0.le, count: $0.count - (earlier[$0.le] ?? 0)) }
        return d
    }

    /// The q-quantile of the latency in milliseconds, interpolated inside its
    /// bucket as Prometheus' histogram_quantile does; nil without samples.
    /// Past the last finite bound it is that bound (the histogram knows no more).
    public func latencyQuantileMillis(_ q: Double) -> Double? {
        guard let total = latencyBuckets.last?.count, total > 0 else { return nil }
        let rank = q * total
        var lowerBound = 0.0, lowerCount = 0.0
        for bucket in latencyBuckets {
            if bucket.count >= rank {
                if bucket.le.isInfinite { return lowerBound * 1000 }
                let inBucket = bucket.count - lowerCount
                let fraction = inBucket > 0 ? (rank - lowerCount) / inBucket : 1
                return (lowerBound + (bucket.le - lowerBound) * fraction) * 1000
            }
            lowerBound = bucket.le.isInfinite ? lowerBound : bucket.le
            lowerCount = bucket.count
        }
        return lowerBound * 1000
    }

    /// The upper bound of the highest bucket that holds a sample (the
    /// histogram's best statement of the maximum), in milliseconds.
    public var latencyMaxMillis: Double? {
        var previous = 0.0
        var answer: Double?
        for bucket in latencyBuckets {
            if bucket.count > previous { answer = bucket.le.isInfinite ? nil : bucket.le * 1000 }
            previous = bucket.count
        }
        return answer
    }
}

/// A plain HTTP/1.0 GET on loopback (the gateway's metrics listener), so the
/// simulator needs no HTTP stack.
public enum MetricsScrape {
    public static func get(_ url: String, timeoutSeconds: Int = 5) -> String? {
        guard let parsed = URL(string: url), let host = parsed.host, let port = parsed.port, parsed.scheme == "http" else { return nil }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address.sin_addr) == 1 else { return nil }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        let path = parsed.path.isEmpty ? "/" : parsed.path
        // HTTP/1.0 and Connection: close both say "close when done"; the read
        // also stops at Content-Length, so a server that keeps the connection
        // open anyway costs no timeout.
        let request = Array("GET \(path) HTTP/1.0\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return nil }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            response += buffer[0..<count]
            if let expected = completeLength(response), response.count >= expected { break }
        }
        let text = String(decoding: response, as: UTF8.self)
        guard text.hasPrefix("HTTP/1."), text.split(separator: " ").dropFirst().first == "200",
              let body = text.range(of: "\r\n\r\n") else { return nil }
        return String(text[body.upperBound...])
    }

    /// Head plus Content-Length, once the head has arrived and names one.
    static func completeLength(_ response: [UInt8]) -> Int? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard response.count >= 4, let end = (0...(response.count - 4)).first(where: { response[$0..<$0 + 4].elementsEqual(separator) }) else { return nil }
        let head = String(decoding: response[..<end], as: UTF8.self).lowercased()
        guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
              let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)), length >= 0, length < 1 << 30 else { return nil }
        return end + 4 + length
    }
}
