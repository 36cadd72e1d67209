import Foundation
@testable import MQTT
import Testing

/// The own loop's group commit (`BurstGathering`) waits for a small burst's
/// next message with `MQTTClient.readable(_:within:)`: it must say no when
/// nothing comes and yes as soon as something does, on a real socket; and
/// the waiting must stop where it never pays.
@Suite struct BurstGatherTests {
    /// A connected pair of local stream sockets.
    func socketPair() throws -> (Int32, Int32) {
        var ends: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &ends) == 0 else { throw POSIXError(.EIO) }
        return (ends[0], ends[1])
    }

    @Test func nothingToReadIsNoWithinTheWindow() throws {
        let (reader, writer) = try socketPair()
        defer { close(reader); close(writer) }
        #expect(!MQTTClient.readable(reader, within: .zero))
        #expect(!MQTTClient.readable(reader, within: .microseconds(500)))
    }

    @Test func bytesWaitingAreYesAtOnce() throws {
        let (reader, writer) = try socketPair()
        defer { close(reader); close(writer) }
        var byte: UInt8 = 0x30
        #expect(write(writer, &byte, 1) == 1)
        #expect(MQTTClient.readable(reader, within: .zero))
    }

    /// Bytes that come while it waits end the wait: long before the window
    /// (a generous ceiling, on a shared machine).
    @Test func bytesArrivingDuringTheWaitEndIt() throws {
        let (reader, writer) = try socketPair()
        defer { close(reader); close(writer) }
        let sender = Thread {
            Thread.sleep(forTimeInterval: 0.005)
            var byte: UInt8 = 0x30
            _ = write(writer, &byte, 1)
        }
        sender.start()
        let start = ContinuousClock.now
        #expect(MQTTClient.readable(reader, within: .seconds(10)))
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    /// A small burst waits out the rest of the window; a full one, or one
    /// whose window has passed, is handed over at once. Until a wait has
    /// brought a message the window is the short `probeWindow`.
    @Test func aSmallBurstWaitsTheRestOfItsWindow() {
        var gathering = BurstGathering()
        #expect(gathering.wait(packets: 10, elapsed: .microseconds(100)) == BurstGathering.probeWindow - .microseconds(100))
        #expect(gathering.wait(packets: BurstGathering.packets, elapsed: .zero) == nil)
        #expect(gathering.wait(packets: 10, elapsed: BurstGathering.probeWindow) == nil)
    }

    /// Once a wait has paid, a burst gathers for the long `window`: past
    /// the probe's end it still waits, for what is left of the window.
    @Test func onceAWaitPaysBurstsGatherForTheLongWindow() {
        var gathering = BurstGathering()
        #expect(gathering.wait(packets: 1, elapsed: .zero) == BurstGathering.probeWindow)
        gathering.waited(found: true)
        gathering.burstEnded()
        #expect(BurstGathering.window > BurstGathering.probeWindow * 2)
        let pastTheProbe = BurstGathering.probeWindow + .microseconds(100)
        #expect(gathering.wait(packets: 10, elapsed: pastTheProbe) == BurstGathering.window - pastTheProbe)
        let nearTheEnd = BurstGathering.window - .microseconds(100)
        #expect(gathering.wait(packets: 10, elapsed: nearTheEnd) == .microseconds(100))
        #expect(gathering.wait(packets: 10, elapsed: BurstGathering.window) == nil)
        #expect(gathering.wait(packets: BurstGathering.packets, elapsed: .zero) == nil)
    }

    /// One burst whose waits brought nothing.
    func fruitlessBurst(_ gathering: inout BurstGathering) -> Bool {
        defer { gathering.burstEnded() }
        guard gathering.wait(packets: 1, elapsed: .zero) != nil else { return false }
        gathering.waited(found: false)
        return true
    }

    /// A broker that sends nothing while the loop waits (an in-flight window
    /// of 1): after `fruitlessLimit` such bursts the loop stops waiting, and
    /// tries once every `retryAfter` bursts.
    @Test func waitsThatNeverBringAMessageStop() {
        var gathering = BurstGathering()
        for _ in 0..<BurstGathering.fruitlessLimit { #expect(fruitlessBurst(&gathering)) }
        for _ in 1..<BurstGathering.retryAfter { #expect(!fruitlessBurst(&gathering)) }
        #expect(fruitlessBurst(&gathering), "tried again")
        for _ in 1..<BurstGathering.retryAfter { #expect(!fruitlessBurst(&gathering)) }
        #expect(fruitlessBurst(&gathering), "and again")
        #expect(!gathering.isPaying)
    }

    /// Once a wait has brought a message, bursts whose waits bring nothing
    /// (the fleet paused, the simulator between rounds) do not stop it.
    @Test func onceAWaitPaysWaitingGoesOn() {
        var gathering = BurstGathering()
        #expect(gathering.wait(packets: 1, elapsed: .zero) != nil)
        gathering.waited(found: true)
        #expect(gathering.wait(packets: 2, elapsed: .microseconds(10)) != nil, "a burst may wait more than once")
        gathering.waited(found: false)
        gathering.burstEnded()
        #expect(gathering.isPaying)
        for _ in 0..<(3 * BurstGathering.fruitlessLimit) { #expect(fruitlessBurst(&gathering)) }
    }
}
