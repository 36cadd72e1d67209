import Codecs
import Foundation
import Logging
import Readings
import ServiceLifecycle
import Store
import Uplink

/// Raw uplink rows → readings, quarantine rows, duplicate frames, events.
/// Works in batches off the committed rows, so a crash or a codec fix can
/// replay them; at shutdown it drains what ingest committed.
// @unchecked: its mutable state belongs to its own run loop (one task); the rest is `let`.
final class ProcessingService: Service, @unchecked Sendable {
    let store: GatewayStore
    /// The pipeline in effect (SIGHUP may replace it between batches).
    let settings: LiveSettings
    let metrics: GatewayMetrics
    let logger: Logger
    let wake: WakeSignal
    /// Uplinks per processing transaction, at most (a small backlog makes a
    /// small batch). Large, because each transaction writes every index page
    /// it touched once: per-device index pages are shared by the uplinks of a
    /// batch. Ingest waits for the lock meanwhile, and reads a bigger burst
    /// (it commits bursts since the MQTT client reads them whole). What 50
    /// against 500 cost in bytes written is in Benchmarks/RESULTS.md (second
    /// load-test round).
    let batchSize: Int
    /// The batch in effect: halved while the store is full (a big batch may
    /// need more room than a store at its bound has, and would never fit),
    /// doubled back towards `batchSize` after each batch that fits.
    private var batchLimit: Int
    private var failedRecords = 0
    private let quarantineLines = LogRateLimiter()

    init(context: ServiceContext, wake: WakeSignal, batchSize: Int = 500) {
        store = context.store
        settings = context.settings
        metrics = context.metrics
        logger = context.logger
        self.wake = wake
        self.batchSize = batchSize
        batchLimit = batchSize
    }

    /// Goes round at least every half second while the decode loop is alive.
    let heartbeat = Heartbeat()

    func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully {
                heartbeat.beat()
                if (try? processBatch()) ?? 0 < batchLimit {
                    await wake.wait(timeout: .milliseconds(500))
                }
            }
        } onGracefulShutdown: { [wake] in
            wake.wake()
        }
        // Ingest has stopped before this service is asked to: drain the rest.
        while let processed = try? processBatch(), processed > 0 {}
    }

    /// The batch after the one recorded last, decoded while that one was
    /// recorded; nil when there was no backlog.
    private var ahead: DecodedBatch?
    private let decodeAhead = DecodeAhead()

    /// Processes one batch; returns how many uplinks it handled.
    @discardableResult
    func processBatch() throws -> Int {
        let (pipeline, generation) = settings.versionedPipeline
        let current: DecodedBatch
        // A batch decoded ahead with a pipeline a reload has since replaced is decoded again.
        if let decoded = ahead.take(), decoded.generation == generation {
            current = decoded
        } else {
            let batch = try readPending(after: 0)
            guard !batch.isEmpty else {
                metrics.uplinksPending.set(Int64(0))
                return 0
            }
            current = DecodedBatch(batch, pipeline: pipeline, generation: generation)
        }
        // A full batch means a backlog: read the next one now (before this one
        // takes the writer lock) and decode it while this one is recorded.
        if current.count >= batchLimit, let next = try? readPending(after: current.lastID), !next.isEmpty {
            decodeAhead.start(next, pipeline: pipeline, generation: generation)
        }
        let summary: RecordSummary
        do {
            summary = try store.record(current.results, now: GatewayClock.now())
        } catch {
            // The batch decoded ahead is dropped: its rows stay pending, and
            // the next try reads from the oldest again (perhaps at half size).
            _ = decodeAhead.wait()
            // The first failure is logged, then one line per 100 tries (twice a
            // second while, say, the store is full), not a line per try.
            failedRecords += 1
            if let error = error as? SQLiteError, error.isDiskFull { batchLimit = max(1, batchLimit / 2) }
            if failedRecords == 1 || failedRecords % 100 == 0 {
                logger.error("cannot record decoded uplinks; will retry", metadata: [
                    "error": "\(error)", "uplinks": "\(current.count)", "attempts": "\(failedRecords)"])
            }
            throw error
        }
        ahead = decodeAhead.wait()
        for latency in current.latencies { metrics.ingestLatency.record(.milliseconds(latency)) }
        batchLimit = min(batchSize, batchLimit * 2)
        if failedRecords > 0 {
            logger.info("recording decoded uplinks again", metadata: ["failed_attempts": "\(failedRecords)"])
            failedRecords = 0
        }
        report(current.results, current.diagnostics, summary)
        return current.count
    }

    private func readPending(after lastID: Int64) throws -> [RawUplink] {
        do {
            return try store.pendingUplinks(after: lastID, limit: batchLimit)
        } catch {
            logger.error("cannot read pending uplinks", metadata: ["error": "\(error)"])
            throw error
        }
    }

    private func report(_ results: [ProcessedUplink], _ diagnostics: [Int64: UplinkPipeline.Diagnostics], _ summary: RecordSummary) {
        if !summary.duplicateFrames.isEmpty {
            metrics.duplicates(stage: "frame").increment(by: Int64(summary.duplicateFrames.count))
        }
        let duplicates = Set(summary.duplicateFrames)
        // Labelled counters are summed over the batch and added once per
        // label: finding one in the registry (by name and labels) per uplink
        // cost about 2 µs of CPU per uplink in the load test.
        var processed: [String: Int64] = [:], stored: [String: Int64] = [:], gaps: [String: Int64] = [:], events: [String: Int64] = [:]
        defer {
            for (envelope, count) in processed { metrics.uplinksProcessed(envelope: envelope).increment(by: count) }
            for (kind, count) in stored {
                metrics.readingsStored(kind: kind).increment(by: count)
                metrics.readingsByKind(kind).increment(by: count)
            }
            for (kind, count) in gaps { metrics.frameCounterGaps(kind: kind).increment(by: count) }
            for (type, count) in events { metrics.events(type: type).increment(by: count) }
        }
        for result in results {
            let id = result.uplinkID
            let diagnostic = diagnostics[id]
            if diagnostic?.clockSkewed == true { metrics.clockSkewed.increment() }
            if let setAside = diagnostic?.deviceTimesSetAside, setAside > 0 {
                metrics.readingsSetAside(reason: "device_time").increment(by: Int64(setAside))
            }
            if let sentinels = diagnostic?.sentinels, sentinels > 0 { metrics.sentinels.increment(by: Int64(sentinels)) }
            if case let .event(type, _, _, _) = result.outcome { events[NetworkEventType.metricLabel(type), default: 0] += 1 }
            if let envelope = diagnostic?.envelope { processed[envelope.rawValue, default: 0] += 1 }
            let kind = diagnostic?.kind?.rawValue ?? "unknown"
            if case let .decoded(_, readings) = result.outcome, !duplicates.contains(id), !readings.isEmpty {
                stored[kind, default: 0] += Int64(readings.count)
            }
            if let gap = summary.frameGaps[id] { gaps[kind, default: 0] += gap }
            // A copy of a frame already quarantined was stored as a duplicate, not quarantined again.
            let isQuarantine: Bool = { if case .quarantined = result.outcome { return !duplicates.contains(id) } else { return false } }()
            // Per-uplink lines other than quarantine are debug: build them only when shown.
            guard isQuarantine || logger.logLevel <= .debug else { continue }
            var fields: Logger.Metadata = ["uplink": "\(id)"]
            if let dedup = diagnostic?.deduplicationID { fields["dedup_id"] = "\(dedup)" }
            switch result.outcome {
            case let .decoded(facts, readings):
                fields["device"] = "\(facts.device)"
                if duplicates.contains(id) {
                    logger.debug("duplicate frame dropped", metadata: fields.merging(["fcnt": "\(facts.fCnt.map(String.init) ?? "-")"]) { a, _ in a })
                } else {
                    if let notes = diagnostic?.notes, !notes.isEmpty {
                        fields["notes"] = "\(notes.map(\.description).joined(separator: "; "))"
                    }
                    logger.debug("uplink decoded", metadata: fields.merging(["readings": "\(readings.count)"]) { a, _ in a })
                }
            case let .quarantined(device, _, reason, detail):
                guard isQuarantine else {
                    logger.debug("copy of a quarantined frame dropped", metadata: fields.merging(["device": "\(device ?? "-")"]) { a, _ in a })
                    continue
                }
                metrics.quarantined(reason: reason.rawValue).increment()
                // Counted always; logged at most a few times a minute per reason.
                guard let held = quarantineLines.admit(reason.rawValue) else { continue }
                if let device { fields["device"] = "\(device)" }
                fields["reason"] = "\(reason.rawValue)"
                fields["detail"] = "\(detail)"
                if held > 0 { fields["suppressed"] = "\(held)" }
                logger.warning("uplink quarantined", metadata: fields)
            case let .event(type, device, _, _):
                logger.debug("network event", metadata: fields.merging(["type": "\(type)", "device": "\(device ?? "-")"]) { a, _ in a })
            case let .ignored(facts, reason):
                logger.debug("uplink ignored", metadata: fields.merging(["device": "\(facts.device)", "reason": "\(reason)"]) { a, _ in a })
            }
        }
    }
}
