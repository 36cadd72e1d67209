import Foundation

/// Wakes a waiting service loop early (new uplinks committed, a window
/// closed). Wakes are coalesced: many wakes before a wait count as one. A
/// wait's own timeout never leaves a wake behind for the next wait.
final class WakeSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var pending = false
    private var waiter: (id: UInt64, continuation: CheckedContinuation<Void, Never>)?
    private var nextID: UInt64 = 0

    func wake() {
        lock.lock()
        if let waiter {
            self.waiter = nil
            lock.unlock()
            waiter.continuation.resume()
        } else {
            pending = true
            lock.unlock()
        }
    }

    /// Ends the wait `id` if it is still the current one (its timeout).
    private func expire(_ id: UInt64) {
        lock.lock()
        guard let waiter, waiter.id == id else { lock.unlock(); return }
        self.waiter = nil
        lock.unlock()
        waiter.continuation.resume()
    }

    /// Returns when woken or after `timeout`, whichever is first.
    func wait(timeout: Duration) async {
        let id = lock.withLock {
            nextID &+= 1
            return nextID
        }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            self?.expire(id)
        }
        defer { timer.cancel() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if pending {
                pending = false
                lock.unlock()
                continuation.resume()
            } else {
                waiter = (id, continuation)
                lock.unlock()
            }
        }
    }
}
