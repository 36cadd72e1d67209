import Foundation

/// When a loop last went round: the watchdog's evidence that a stage is alive.
final class Heartbeat: @unchecked Sendable {
    private let lock = NSLock()
    private var last = ContinuousClock.now

    func beat() {
        lock.lock()
        last = ContinuousClock.now
        lock.unlock()
    }

    var age: Duration {
        lock.lock()
        defer { lock.unlock() }
        return ContinuousClock.now - last
    }
}
