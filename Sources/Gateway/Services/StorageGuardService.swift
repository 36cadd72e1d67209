import FoundationEssentials
import Glibc
import Hubs
import Logging
import Readings
import ServiceLifecycle
import Store

/// Keeps the store within its bounds: retention pruning once a minute,
/// aggressive pruning (oldest prunable first, see `StoreBounds`) when the
/// database nears its size bound or the disk its free-space floor, and
/// intake paused when nothing more may go, until space returns.
// @unchecked: its mutable state belongs to its own run loop (one task); the rest is `let`.
final class StorageGuardService: Service, @unchecked Sendable {
    let store: GatewayStore
    let bounds: StoreBounds
    let minimumFreeDiskBytes: Int64
    let ingest: IngestService
    let metrics: GatewayMetrics
    let logger: Logger
    let interval: Duration
    private var warnedBoundTooSmall = false
    private var longestWriterHold = Duration.zero
    /// File outputs: their day files count against the size bound, and are
    /// deleted after their retention.
    let fileOutputs: [any LocalFileOutput]

    /// Prune hard above this share of the size bound; pause above `pauseAt`;
    /// resume below `resumeBelow`.
    static let pruneAt = 0.90, pauseAt = 0.97, resumeBelow = 0.85

    init(context: ServiceContext, bounds: StoreBounds, minimumFreeDiskBytes: Int64, ingest: IngestService,
         fileOutputs: [any LocalFileOutput] = [], interval: Duration = .seconds(1)) {
        store = context.store
        metrics = context.metrics
        logger = context.logger
        self.fileOutputs = fileOutputs
        self.bounds = bounds
        self.minimumFreeDiskBytes = minimumFreeDiskBytes
        self.ingest = ingest
        self.interval = interval
    }

    func run() async throws {
        var lastRetention = ContinuousClock.now - .seconds(3600)
        while !Task.isShuttingDownGracefully {
            if ContinuousClock.now - lastRetention >= .seconds(60) {
                lastRetention = ContinuousClock.now
                prune(aggressive: false)
                for output in fileOutputs {
                    let deleted = output.pruneOldFiles(now: GatewayClock.now())
                    if deleted > 0 {
                        metrics.pruned("aggregate_files").increment(by: Int64(deleted))
                        logger.info("deleted aggregate files past their retention", metadata: ["hub": "\(output.name)", "files": "\(deleted)"])
                    }
                }
            }
            check()
            try? await Task.sleep(for: interval)
        }
    }

    /// Free bytes on the file system that holds the database.
    func freeDiskBytes() -> Int64? {
        var info = statvfs()
        let directory = PathText.directory(of: store.path)
        guard statvfs(directory.isEmpty ? "." : directory, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// The database's usage plus the file outputs' day files.
    func currentUsage() -> StoreUsage? {
        guard var usage = try? store.usage() else { return nil }
        usage.externalBytes = fileOutputs.reduce(0) { $0 + $1.storedBytes() }
        return usage
    }

    func check() {
        longestWriterHold = max(longestWriterHold, store.takeLongestWriterHold())
        metrics.writerHoldMax.set(longestWriterHold.inSeconds)
        do {
            try store.checkpoint()
        } catch {
            logger.warning("WAL checkpoint failed", metadata: ["error": "\(error)"])
        }
        guard let usage = currentUsage() else { return }
        metrics.storeFileBytes.set(usage.fileBytes)
        metrics.storeUsedBytes.set(usage.usedBytes)
        // After a commit met a full disk, wait for at least 1 MiB free (with no
        // floor configured), or intake would resume and fail once a second.
        let floor = ingest.isPausedOnFullStore ? max(minimumFreeDiskBytes, 1 << 20) : minimumFreeDiskBytes
        let lowDisk = (freeDiskBytes() ?? .max) < floor
        var fraction = usage.fractionOfBound
        var nothingPrunable = false
        if fraction >= Self.pruneAt || lowDisk || ingest.isPaused {
            nothingPrunable = prune(aggressive: true) == 0
            fraction = currentUsage()?.fractionOfBound ?? fraction
        }
        if ingest.isPaused {
            // Uplink rows stay for the duplicate window; if they alone hold the
            // store above the resume mark, waiting would never end. Resume with
            // the headroom there is (the broker's queue drains in steps) and say
            // that the bound is too small for the window.
            // Only when nothing waits for a hub or a decoder: undelivered data
            // holding the store is the pause's very reason.
            let stuckAboveMark = nothingPrunable && fraction < Self.pauseAt - 0.02 && onlyDeduplicationMemoryLeft()
            if (fraction < Self.resumeBelow || stuckAboveMark) && !lowDisk {
                if stuckAboveMark && !warnedBoundTooSmall {
                    logger.warning("the store's size bound barely holds the uplinks kept for deduplication; resuming with little headroom (raise [store] max_size or shorten duplicate_window)",
                                   metadata: ["used_of_bound": "\(Int(fraction * 100)) %"])
                    warnedBoundTooSmall = true
                }
                ingest.resume()
            }
        } else if fraction >= Self.pauseAt || lowDisk {
            ingest.pause(reason: lowDisk ? "free disk below \(floor) bytes" : "store at \(Int(fraction * 100)) % of its size bound")
        }
    }

    /// Nothing is waiting to be decoded or delivered: what fills the store is
    /// the uplink rows kept for the duplicate window (and quarantine).
    func onlyDeduplicationMemoryLeft() -> Bool {
        guard let statistics = try? store.statistics() else { return false }
        return statistics.uplinksPending == 0 && statistics.hubs.values.allSatisfy { $0.backlog == 0 }
    }

    /// Returns how many rows and bytes went.
    @discardableResult
    func prune(aggressive: Bool) -> Int {
        var total = PruneSummary()
        // Bounded passes so intake never waits long on the store's lock.
        for _ in 0..<50 {
            guard let pass = try? store.prune(now: GatewayClock.now(), bounds: bounds, aggressive: aggressive), pass.total > 0 else { break }
            total.rawBytesStripped += pass.rawBytesStripped
            total.readingsDeleted += pass.readingsDeleted
            total.uplinksDeleted += pass.uplinksDeleted
            total.aggregatesDeleted += pass.aggregatesDeleted
            total.quarantinedDeleted += pass.quarantinedDeleted
            if aggressive, let usage = currentUsage(), usage.fractionOfBound < Self.resumeBelow { break }
        }
        guard total.total > 0 else { return 0 }
        metrics.pruned("raw_bytes").increment(by: Int64(total.rawBytesStripped))
        metrics.pruned("readings").increment(by: Int64(total.readingsDeleted))
        metrics.pruned("uplinks").increment(by: Int64(total.uplinksDeleted))
        metrics.pruned("aggregates").increment(by: Int64(total.aggregatesDeleted))
        metrics.pruned("quarantined").increment(by: Int64(total.quarantinedDeleted))
        logger.info(aggressive ? "pruned to stay within the size bound" : "pruned by retention", metadata: [
            "raw_bytes": "\(total.rawBytesStripped)", "readings": "\(total.readingsDeleted)",
            "uplinks": "\(total.uplinksDeleted)", "aggregates": "\(total.aggregatesDeleted)", "quarantined": "\(total.quarantinedDeleted)"])
        return total.total
    }
}
