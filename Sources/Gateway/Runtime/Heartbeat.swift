import Synchronization

/// When a loop last went round: the watchdog's evidence that a stage is alive.
final class Heartbeat: Sendable {
    private let last = Mutex(ContinuousClock.now)

    func beat() {
        last.withLock { $0 = ContinuousClock.now }
    }

    var age: Duration { ContinuousClock.now - last.withLock { $0 } }
}

/// A flag set once, read from another thread.
final class OnceFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
