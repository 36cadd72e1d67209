import Synchronization

/// Keeps a repeated warning from flooding the journal: per key (say, the
/// quarantine reason), the first `burst` lines in a period go out; the rest
/// are counted, and the next line that goes out says how many were held back
/// (`suppressed=N`).
final class LogRateLimiter: Sendable {
    private let burst: Int
    private let period: Duration
    private let windows = Mutex<[String: (start: ContinuousClock.Instant, sent: Int, suppressed: Int)]>([:])

    init(burst: Int = 5, period: Duration = .seconds(60)) {
        self.burst = burst
        self.period = period
    }

    /// Nil: hold this line back. Otherwise how many lines of this key were
    /// held back since the last one that went out.
    func admit(_ key: String, now: ContinuousClock.Instant = .now) -> Int? {
        windows.withLock { windows in
            var window = windows[key] ?? (now, 0, 0)
            if now - window.start >= period {
                window = (now, 0, window.suppressed)
            }
            guard window.sent < burst else {
                window.suppressed += 1
                windows[key] = window
                return nil
            }
            let suppressed = window.suppressed
            window.sent += 1
            window.suppressed = 0
            windows[key] = window
            return suppressed
        }
    }
}
