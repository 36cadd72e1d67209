import Readings
import Store
import Uplink

/// A read burst from the broker, decoded and then committed with what it
/// decoded to in one transaction: raw rows, readings, frame identities and
/// sessions together, before the burst's PUBACKs go out.
///
/// Decoding is pure and runs before the transaction, outside the writer's
/// lock. Committing raw rows first and reading them back to decode in a
/// second transaction (how every uplink went until issue 17) wrote each
/// uplink row twice and read it once more; the cost of each is in
/// Benchmarks/RESULTS.md, issue 17. What stays from that design:
///
/// - the processing service decodes what is pending: uplinks committed
///   undecoded (a suspect of `DecodeGuard`, or a burst whose records could
///   not be written, below), requeued ones, and a backlog a release before
///   this one left;
/// - a trapping decoder is caught by `DecodeGuard`, not by the raw commit
///   coming first;
/// - a burst whose combined transaction fails (a record that cannot be
///   written, a store at its bound) is committed raw alone, as before, and
///   left to the processing service: what cannot be recorded never holds up
///   intake. If the raw rows cannot be committed either, the burst is not
///   acknowledged.
struct BurstRecorder: Sendable {
    let store: GatewayStore
    let settings: LiveSettings
    let decodeGuard: DecodeGuard
    let faults: FaultInjection

    init(context: ServiceContext) {
        store = context.store
        settings = context.settings
        decodeGuard = context.decodeGuard
        faults = context.faults
    }

    /// What became of a burst.
    struct Committed {
        /// One per message, in order.
        var results: [IngestResult]
        /// The uplinks decoded and recorded in the burst.
        var recorded: DecodedBatch
        var summary: RecordSummary
        /// Uplinks committed undecoded, left to the processing service.
        var pending: Int
        /// Why the burst was committed raw alone, if it was.
        var recordFailure: (any Error)?
    }

    func commit(_ messages: [ArrivedMessage]) throws -> Committed {
        let (pipeline, generation) = settings.versionedPipeline
        var outcomes: [ProcessedOutcome?] = []
        var diagnostics: [UplinkPipeline.Diagnostics?] = []
        outcomes.reserveCapacity(messages.count)
        diagnostics.reserveCapacity(messages.count)
        for message in messages {
            // Oversized messages are quarantined as they are committed; a
            // suspect is left to the processing service to decode on its own.
            guard message.oversized == nil, decodeGuard.strikes(message.messageHash) == 0 else {
                outcomes.append(nil)
                diagnostics.append(nil)
                continue
            }
            decodeGuard.mark(.ingest, hash: message.messageHash, topic: message.topic)
            faults.trapIfDecoding(message.message)
            // The uplink id is not known before the insert: the store ties
            // the outcome to the row it inserts (readings carry the id given
            // to `record`, not this placeholder).
            let (outcome, diagnostic) = pipeline.process(RawUplink(id: 0, receivedAt: message.receivedAt, topic: message.topic, message: message.message))
            outcomes.append(outcome)
            diagnostics.append(diagnostic)
        }
        // Cleared before the commit: a stop from here on is not the decoder's.
        decodeGuard.clear(.ingest)
        let now = GatewayClock.now()
        let results: [IngestResult], summary: RecordSummary
        do {
            (results, summary) = try store.commitAndRecord(messages, outcomes: outcomes, now: now)
        } catch {
            // Raw rows alone, whatever the reason; a store at its bound
            // included: a burst's records take more room than its raw rows,
            // and the processing service records what fits, halving its
            // batch. If the raw rows do not fit either, this throws and the
            // burst is not acknowledged.
            let raw = try store.commitUplinks(messages)
            return Committed(results: raw, recorded: DecodedBatch(generation: generation), summary: RecordSummary(),
                             pending: raw.filter { if case .stored = $0 { return true } else { return false } }.count, recordFailure: error)
        }
        var recorded = DecodedBatch(generation: generation)
        var pending = 0
        for index in messages.indices {
            guard case let .stored(id) = results[index], messages[index].oversized == nil else { continue }
            guard let outcome = outcomes[index], let diagnostic = diagnostics[index] else {
                pending += 1
                continue
            }
            let message = messages[index]
            recorded.add(RawUplink(id: id, receivedAt: message.receivedAt, topic: message.topic, message: []), (outcome, diagnostic))
        }
        return Committed(results: results, recorded: recorded, summary: summary, pending: pending, recordFailure: nil)
    }
}
