import Foundation
@testable import Gateway
import Synchronization
import Testing

/// The wake signal the service loops sleep on.
@Suite struct WakeSignalTests {
    /// A timeout that fires before its wait is installed must still end the
    /// wait (the timer runs on another thread and can win that race); a lost
    /// expiry left the loop asleep until the next wake, for good if none came.
    @Test func aTimeoutThatFiresBeforeItsWaitStillEndsIt() async throws {
        let signal = WakeSignal()
        let done = Atomic<Int>(0)
        let id = signal.beginWait()
        signal.expire(id)  // the timer, first
        // Unstructured: a wait that never returns must not hang the test run.
        Task {
            await signal.awaitWake(id)
            done.store(1, ordering: .relaxed)
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while done.load(ordering: .relaxed) == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(done.load(ordering: .relaxed) == 1, "the wait missed its own timeout")
        // An expiry of an older wait does not end the next one early.
        let next = signal.beginWait()
        signal.expire(id)
        let started = ContinuousClock.now
        let timer = Task { try? await Task.sleep(for: .milliseconds(100)); signal.expire(next) }
        await signal.awaitWake(next)
        #expect(ContinuousClock.now - started >= .milliseconds(100))
        timer.cancel()
    }

    @Test func wakesAreCoalescedAndATimeoutLeavesNoneBehind() async {
        let signal = WakeSignal()
        signal.wake()
        signal.wake()
        let started = ContinuousClock.now
        await signal.wait(timeout: .seconds(30))  // the pending wake ends it at once
        #expect(ContinuousClock.now - started < .seconds(5))
        await signal.wait(timeout: .milliseconds(50))  // no second wake was left: this one times out
        #expect(ContinuousClock.now - started >= .milliseconds(50))
    }
}
