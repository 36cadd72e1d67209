import Foundation
@testable import MQTT
import Testing

/// The own loop's group commit waits for a small burst's next message with
/// `MQTTClient.readable(_:within:)`: it must say no when nothing comes and
/// yes as soon as something does, on a real socket.
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

    /// The gathering bounds: a small burst, a short wait.
    @Test func theGatherIsSmallAndShort() {
        #expect(MQTTClient.burstGather.packets > 1 && MQTTClient.burstGather.packets <= 100)
        #expect(MQTTClient.burstGather.window > .zero && MQTTClient.burstGather.window <= .milliseconds(1))
    }
}
