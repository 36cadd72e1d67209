import Aggregation
import Codecs
import Logging
import Readings
import Store
import Synchronization
import Uplink

/// What a recorded batch of uplinks did, in metrics and log lines: the same
/// whether ingest decoded and recorded it in the burst (`BurstRecorder`) or
/// the processing service did, from pending rows.
final class ProcessingReport: Sendable {
    let metrics: GatewayMetrics
    let logger: Logger
    private let quarantineLines = LogRateLimiter()
    /// One line a minute at most about readings too late, with how many
    /// there were since the last one.
    private let lateLines = LogRateLimiter(burst: 1)
    private let lateSinceLine = Mutex(0)

    /// The configured lateness, for the too-late line (a change needs a restart).
    let latenessMillis: Int64

    init(metrics: GatewayMetrics, logger: Logger, latenessMillis: Int64) {
        self.metrics = metrics
        self.logger = logger
        self.latenessMillis = latenessMillis
    }

    /// Metrics and log lines for a recorded batch.
    func report(_ batch: DecodedBatch, _ summary: RecordSummary) {
        let (results, diagnostics) = (batch.results, batch.diagnostics)
        for latency in batch.latencies { metrics.ingestLatency.record(.milliseconds(latency)) }
        if !summary.duplicateFrames.isEmpty {
            metrics.duplicates(stage: "frame").increment(by: Int64(summary.duplicateFrames.count))
        }
        if summary.readingsTooLate > 0 { reportLate(summary) }
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

    /// Readings whose window had closed and whose uplink came after the
    /// window's end plus grace plus lateness: counted always, logged once a
    /// minute at most.
    private func reportLate(_ summary: RecordSummary) {
        metrics.readingsTooLate().increment(by: Int64(summary.readingsTooLate))
        let held = lateSinceLine.withLock { held in
            held += summary.readingsTooLate
            return held
        }
        guard lateLines.admit("late") != nil else { return }
        lateSinceLine.withLock { $0 -= held }
        logger.warning("readings arrived after their window's lateness; stored, not aggregated", metadata: [
            "window": "\(summary.lateWindow.map(WindowKey.make) ?? "-")", "readings": "\(held)", "lateness_ms": "\(latenessMillis)"])
    }
}
