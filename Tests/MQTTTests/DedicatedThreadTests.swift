import Foundation
import Synchronization
import MQTT
import Testing

@Suite struct DedicatedThreadTests {
    /// The body runs on a thread of its own, named as asked (cut to Linux's 15 bytes).
    @Test func runsTheBodyOnANamedThread() async throws {
        let seen = Mutex<(ran: Bool, name: String?, sameThread: Bool)?>(nil)
        let caller = pthread_self()
        DedicatedThread.start(name: "citygate-test-thread-long") {
            let name = try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
            seen.withLock { $0 = (true, name, pthread_equal(pthread_self(), caller) != 0) }
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while seen.withLock({ $0 == nil }) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        let result = try #require(seen.withLock { $0 })
        #expect(result.ran)
        #expect(result.name == "citygate-test-t\n")
        #expect(!result.sameThread)
    }

    @Test func sleepsAboutAsLongAsAsked() {
        let started = ContinuousClock.now
        DedicatedThread.sleep(seconds: 0.05)
        #expect(ContinuousClock.now - started >= .milliseconds(50))
        DedicatedThread.sleep(seconds: -1)  // returns at once
    }
}
