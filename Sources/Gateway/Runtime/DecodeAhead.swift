import Dispatch
import FoundationEssentials
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

    /// Envelope, decode, validate and window for each uplink (pure, apart
    /// from marking each one in the decoder guard before it is decoded).
    /// A message the gateway stopped on twice is quarantined undecoded.
    init(_ batch: [RawUplink], pipeline: UplinkPipeline, generation: Int, guard decodeGuard: DecodeGuard = .disabled,
         faults: FaultInjection = .none) {
        self.generation = generation
        results.reserveCapacity(batch.count)
        defer { decodeGuard.clear(.processing) }
        for raw in batch {
            let hash = GatewayStore.messageHash(topic: raw.topic, message: raw.message)
            let strikes = decodeGuard.strikes(hash)
            guard strikes < 2 else {
                results.append(ProcessedUplink(uplinkID: raw.id, outcome: .quarantined(
                    device: nil, facts: nil, reason: .decoderCrash,
                    detail: "the gateway stopped \(strikes) times while decoding this message; `citygate requeue --reason decoder_crash` tries again")))
                diagnostics[raw.id] = UplinkPipeline.Diagnostics()
                lastID = max(lastID, raw.id)
                continue
            }
            decodeGuard.mark(.processing, hash: hash, topic: raw.topic)
            faults.trapIfDecoding(raw.message)
            add(raw, pipeline.process(raw))
        }
    }

    /// A burst ingest decoded and recorded itself (`BurstRecorder`).
    init(generation: Int) {
        self.generation = generation
    }

    /// One uplink's outcome, with its diagnostics and ingest latency.
    mutating func add(_ raw: RawUplink, _ processed: (ProcessedOutcome, UplinkPipeline.Diagnostics)) {
        let (outcome, diagnostic) = processed
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
    func start(_ batch: [RawUplink], pipeline: UplinkPipeline, generation: Int, guard decodeGuard: DecodeGuard, faults: FaultInjection) {
        precondition(!running, "a decode-ahead batch is already running")
        running = true
        queue.async {
            self.decoded = DecodedBatch(batch, pipeline: pipeline, generation: generation, guard: decodeGuard, faults: faults)
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
