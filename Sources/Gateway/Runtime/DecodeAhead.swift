import Dispatch
import Foundation
import Readings
import Store
import Uplink

/// A batch of committed uplinks run through the pipeline, not yet recorded.
struct DecodedBatch: Sendable {
    var results: [ProcessedUplink] = []
    var diagnostics: [Int64: UplinkPipeline.Diagnostics] = [:]
    /// The highest uplink id in the batch: the next batch starts after it.
    var lastID: Int64 = 0
    /// The pipeline generation it was decoded with (see `LiveSettings`).
    var generation: Int
    /// Commit time minus envelope time per decoded uplink, recorded in the
    /// histogram once the batch is recorded (so a batch decoded again after a
    /// failed record or a reload is not counted twice).
    var latencies: [Int64] = []

    var count: Int { results.count }

    /// Pure: envelope, decode, validate and window for each uplink.
    init(_ batch: [RawUplink], pipeline: UplinkPipeline, generation: Int) {
        self.generation = generation
        results.reserveCapacity(batch.count)
        for raw in batch {
            let (outcome, diagnostic) = pipeline.process(raw)
            // Commit time minus the envelope's time (the network server's, or
            // the simulator's stamp at publish): how long an uplink took to be safe.
            if case let .decoded(facts, _) = outcome, let sent = facts.networkTime, raw.receivedAt >= sent {
                latencies.append(raw.receivedAt - sent)
            }
            results.append(ProcessedUplink(uplinkID: raw.id, outcome: outcome))
            diagnostics[raw.id] = diagnostic
            lastID = max(lastID, raw.id)
        }
    }
}

/// Decodes the next batch on a thread of its own while the processing loop
/// records the current one. Recording holds the store's writer lock (shared
/// with ingest) for most of a batch's time; decoding is pure and needs no
/// lock, so under a backlog the two overlap instead of taking turns (the
/// time each part took is in Benchmarks/RESULTS.md, third load-test round).
// @unchecked: `decoded` is handed from `queue` to the waiter through the
// semaphore; `running` belongs to the processing loop.
final class DecodeAhead: @unchecked Sendable {
    private let queue = DispatchQueue(label: "citygate.processing.decode-ahead")
    private let finished = DispatchSemaphore(value: 0)
    /// Written on `queue` before `finished` is signalled, read after waiting on it.
    private var decoded: DecodedBatch?
    private var running = false

    /// Starts decoding `batch`; one at a time (the loop waits before the next start).
    func start(_ batch: [RawUplink], pipeline: UplinkPipeline, generation: Int) {
        precondition(!running, "a decode-ahead batch is already running")
        running = true
        queue.async {
            self.decoded = DecodedBatch(batch, pipeline: pipeline, generation: generation)
            self.finished.signal()
        }
    }

    /// The batch started last, once decoded; nil if none was started.
    func wait() -> DecodedBatch? {
        guard running else { return nil }
        finished.wait()
        running = false
        defer { decoded = nil }
        return decoded
    }
}
