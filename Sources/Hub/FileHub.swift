import Foundation
import Readings

/// Writes aggregates as NDJSON and CSV, one pair of files per UTC day of the
/// window start (`aggregates-2026-11-20.ndjson`, `.csv`): what a CKAN portal
/// ingests. The default output when no hub is configured.
///
/// A revised window (a late reading re-opened it) is appended again with a
/// higher `revision`; readers keep the highest revision per `id`.
public struct FileHub: Hub {
    public let name: String
    public let isPrivate: Bool
    public let directory: String

    public init(name: String = "file", directory: String, isPrivate: Bool = false) {
        self.name = name
        self.directory = directory
        self.isPrivate = isPrivate
    }

    static let csvHeader = "id,revision,source,kind,metric,channel,unit,window_start,window_end,count,min,max,mean,last,last_time\n"

    public func deliver(_ batch: [OutboundAggregate]) async -> [DeliveryResult] {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            var byDay: [String: [OutboundAggregate]] = [:]
            for aggregate in batch { byDay[RFC3339.day(aggregate.window.start), default: []].append(aggregate) }
            var refs: [String: String] = [:]
            for (day, items) in byDay {
                let base = "\(directory)/aggregates-\(day)"
                var ndjson = ""
                var csv = ""
                for item in items {
                    item.json.write(to: &ndjson)
                    ndjson += "\n"
                    csv += csvLine(item)
                }
                try append(ndjson, to: base + ".ndjson", header: nil)
                try append(csv, to: base + ".csv", header: Self.csvHeader)
                for item in items { refs[item.windowKey] = "aggregates-\(day).ndjson" }
            }
            return batch.map { .delivered(ref: refs[$0.windowKey]) }
        } catch {
            return batch.map { _ in .retry(reason: "file output: \(error)", afterSeconds: nil) }
        }
    }

    func csvLine(_ a: OutboundAggregate) -> String {
        func dec(_ v: Int64) -> String { FixedPoint.decimalString(v, decimals: a.metric.decimals) }
        let s = a.statistics
        let fields = [
            a.windowKey, String(a.revision), a.source, a.kind.rawValue, a.metric.name, a.channel.map(String.init) ?? "",
            a.metric.unitCode, RFC3339.format(a.window.start), RFC3339.format(a.window.end), String(s.count),
            dec(s.min), dec(s.max), dec(s.mean), dec(s.last), RFC3339.format(s.lastTime),
        ]
        return fields.map(csvField).joined(separator: ",") + "\n"
    }

    func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Appends and fsyncs, so "delivered" means on disk.
    func append(_ text: String, to path: String, header: String?) throws {
        let isNew = !FileManager.default.fileExists(atPath: path)
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        var bytes = Array(((isNew ? header ?? "" : "") + text).utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw POSIXError(.init(rawValue: errno) ?? .EIO)
            }
            offset += written
        }
        guard fsync(fd) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    }
}
