import Synchronization

/// Wakes a waiting service loop early (new uplinks committed, a window
/// closed). Wakes are coalesced: many wakes before a wait count as one. A
/// wait's own timeout never leaves a wake behind for the next wait, and a
/// timeout that fires before its wait is installed still ends that wait.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: (id: UInt64, continuation: CheckedContinuation<Void, Never>)?
        var nextID: UInt64 = 0
        /// A wait whose timer fired before the wait was installed.
        var expiredEarly: UInt64?
    }

    private let state = Mutex(State())

    func wake() {
        // Resumed outside the lock: a continuation may run code at once.
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }

    /// Ends the wait `id` if it is still the current one (its timeout).
    func expire(_ id: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter, waiter.id == id else {
                // The timer won the race with the wait it belongs to: that
                // wait returns as soon as it is installed.
                if state.nextID == id { state.expiredEarly = id }
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }

    /// Returns when woken or after `timeout`, whichever is first.
    func wait(timeout: Duration) async {
        let id = beginWait()
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            self?.expire(id)
        }
        defer { timer.cancel() }
        await awaitWake(id)
    }

    /// The id of a new wait (its timer expires it by this id).
    func beginWait() -> UInt64 {
        state.withLock { state in
            state.nextID &+= 1
            state.expiredEarly = nil
            return state.nextID
        }
    }

    /// Installs wait `id` and returns when it is woken or expired (at once
    /// when a wake is pending or its timer already fired).
    func awaitWake(_ id: UInt64) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let woken = state.withLock { state -> Bool in
                if state.pending {
                    state.pending = false
                    return true
                }
                if state.expiredEarly == id {
                    state.expiredEarly = nil
                    return true
                }
                state.waiter = (id, continuation)
                return false
            }
            if woken { continuation.resume() }
        }
    }
}
