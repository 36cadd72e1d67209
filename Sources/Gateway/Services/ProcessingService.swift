import Codecs
import FoundationEssentials
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
    private let reporter: ProcessingReport
    private let decodeGuard: DecodeGuard
    private let faults: FaultInjection

    init(context: ServiceContext, wake: WakeSignal, batchSize: Int = 500) {
        store = context.store
        settings = context.settings
        metrics = context.metrics
        logger = context.logger
        self.wake = wake
        self.batchSize = batchSize
        batchLimit = batchSize
        reporter = ProcessingReport(metrics: context.metrics, logger: context.logger, latenessMillis: context.settings.current.latenessMillis)
        decodeGuard = context.decodeGuard
        faults = context.faults
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
            current = DecodedBatch(batch, pipeline: pipeline, generation: generation, guard: decodeGuard, faults: faults)
        }
        // A full batch means a backlog: read the next one now (before this one
        // takes the writer lock) and decode it while this one is recorded.
        if current.count >= batchLimit, let next = try? readPending(after: current.lastID), !next.isEmpty {
            decodeAhead.start(next, pipeline: pipeline, generation: generation, guard: decodeGuard, faults: faults)
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
        batchLimit = min(batchSize, batchLimit * 2)
        if failedRecords > 0 {
            logger.info("recording decoded uplinks again", metadata: ["failed_attempts": "\(failedRecords)"])
            failedRecords = 0
        }
        reporter.report(current, summary)
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
}
