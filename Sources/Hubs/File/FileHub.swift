import FoundationEssentials
import Glibc
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
    /// Day files older than this many days are deleted; nil keeps them.
    public let retentionDays: Int?

    public init(name: String = "file", directory: String, isPrivate: Bool = false, retentionDays: Int? = nil) {
        self.name = name
        self.directory = directory
        self.isPrivate = isPrivate
        self.retentionDays = retentionDays
    }

    /// The day files this output wrote: (day, path, bytes).
    public func dayFiles() -> [(day: String, path: String, bytes: Int64)] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.compactMap { name in
            guard name.hasPrefix("aggregates-"), name.hasSuffix(".ndjson") || name.hasSuffix(".csv") else { return nil }
            let day = String(name.dropFirst("aggregates-".count).prefix(10))
            let path = directory + "/" + name
            var info = stat()
            let bytes = stat(path, &info) == 0 ? Int64(info.st_size) : 0
            return (day, path, bytes)
        }
    }

    /// Deletes day files older than the retention (by their day in the
    /// name, UTC); returns how many were deleted.
    public func pruneOldFiles(now: EpochMillis) -> Int {
        guard let retentionDays else { return 0 }
        let oldestKept = RFC3339.day(now - Int64(retentionDays) * 86_400_000)
        var deleted = 0
        for file in dayFiles() where file.day < oldestKept {
            if (try? FileManager.default.removeItem(atPath: file.path)) != nil { deleted += 1 }
        }
        return deleted
    }

    /// Whether a window was written before (a crash may have come between
    /// the write and the ledger update): its id and revision in its day file.
    public func reconcile(_ inFlight: [OutboundAggregate]) async -> [DeliveryResult?] {
        var cache: [String: String] = [:]
        return inFlight.map { aggregate in
            let name = "aggregates-\(RFC3339.day(aggregate.window.start)).ndjson"
            let text = cache[name] ?? (try? String(contentsOfFile: directory + "/" + name, encoding: .utf8)) ?? ""
            cache[name] = text
            var id = ""
            JSONText.string(aggregate.windowKey).write(to: &id)
            return text.contains("{\"id\":\(id),\"revision\":\(aggregate.revision),") ? .delivered(ref: name) : nil
        }
    }

    static let csvHeader = "id,revision,source,kind,metric,channel,unit,window_start,window_end,count,min,max,mean,last,last_time,scope,zone,members,total\n"

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
            a.isRollup ? "zone" : "device", a.zone ?? "", a.rollup.map { String($0.members) } ?? "", a.rollup.map { dec($0.total) } ?? "",
        ]
        return fields.map(csvField).joined(separator: ",") + "\n"
    }

    func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
        return "\"" + text.replacing("\"", with: "\"\"") + "\""
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
