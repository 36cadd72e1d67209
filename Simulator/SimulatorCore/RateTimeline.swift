import Foundation
import Synchronization

/// Counters sampled once a second during a load run: what the simulator
/// published and had acknowledged, and (with the gateway's metrics URL) what
/// the gateway committed. Differences of consecutive samples are the
/// per-second rates the report plots.
public struct RateSample: Sendable, Equatable {
    /// Seconds since the run started.
    public var seconds: Double
    public var sent: Int
    public var acknowledged: Int
    /// `citygate_uplinks_committed_total` since the run started; nil without
    /// a metrics URL or when the scrape failed.
    public var committed: Double?

    public init(seconds: Double, sent: Int, acknowledged: Int, committed: Double?) {
        self.seconds = seconds
        self.sent = sent
        self.acknowledged = acknowledged
        self.committed = committed
    }
}

/// Takes `RateSample`s on its own thread (a metrics scrape blocks for up
/// to its timeout, which must not hold up publishing), until stopped.
public final class RateSampler: Sendable {
    private let samples = Mutex<[RateSample]>([])
    private let stopped = Atomic<Bool>(false)
    private let finished = Mutex<Bool>(false)

    /// `counters` returns (sent, acknowledged) so far; `metricsURL` is the
    /// gateway's `/metrics`, read once a second; `baseline` is its committed
    /// count before the run.
    public init(interval: Duration = .seconds(1), metricsURL: String?, baseline: Double?,
                counters: @escaping @Sendable () -> (sent: Int, acknowledged: Int)) {
        let thread = Thread { [self] in
            sample(every: interval, metricsURL: metricsURL, baseline: baseline, counters: counters)
        }
        thread.name = "citygate-sim rate sampler"
        thread.start()
    }

    private func sample(every interval: Duration, metricsURL: String?, baseline: Double?,
                        counters: () -> (sent: Int, acknowledged: Int)) {
        let start = ContinuousClock.now
        var next = start
        while true {
            let now = ContinuousClock.now
            var committed: Double?
            if let metricsURL, let baseline, let text = MetricsScrape.get(metricsURL, timeoutSeconds: 2) {
                committed = GatewaySnapshot.parse(text).committed - baseline
            }
            let (sent, acknowledged) = counters()
            samples.withLock { $0.append(RateSample(seconds: (now - start).inSeconds, sent: sent, acknowledged: acknowledged, committed: committed)) }
            if stopped.load(ordering: .acquiring) { break }
            next += interval
            // Sleep in short steps so a stop is seen within 50 ms.
            while ContinuousClock.now < next && !stopped.load(ordering: .acquiring) {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        finished.withLock { $0 = true }
    }

    /// Takes a last sample, stops the thread and returns every sample.
    public func stop() -> [RateSample] {
        stopped.store(true, ordering: .releasing)
        while !finished.withLock({ $0 }) { Thread.sleep(forTimeInterval: 0.01) }
        return samples.withLock { $0 }
    }
}
