import Foundation
import Testing

/// `Config/mosquitto.conf` as the README installs it (issue 18, item 6): in
/// the `conf.d` of Debian's own `mosquitto.conf` (a copy in
/// Fixtures/debian/, its paths moved into the test's directory). Before, the
/// drop-in repeated `persistence_location` and mosquitto 2.0.11 refused to
/// start. It must start, and what the no-loss promise needs must take
/// effect: a queue beyond mosquitto's default 1,000 messages, kept across a
/// broker restart.
@Suite(.serialized) struct BrokerDropInTests {
    @Test func theDropInStartsInDebiansLayoutAndItsQueueAndPersistenceTakeEffect() async throws {
        let directory = try TestEnvironment.temporaryDirectory("dropin")
        let port = TestEnvironment.freePort()
        // mosquitto started as root drops to its own user: it writes here.
        for sub in ["conf.d", "persist", "log"] {
            try FileManager.default.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
            _ = chmod(directory + "/" + sub, 0o777)
        }
        _ = chmod(directory, 0o777)
        let debian = try String(contentsOfFile: TestEnvironment.packageRoot + "/Tests/IntegrationTests/Fixtures/debian/mosquitto.conf", encoding: .utf8)
        try debian.replacingOccurrences(of: "/run/mosquitto/mosquitto.pid", with: directory + "/mosquitto.pid")
            .replacingOccurrences(of: "/var/lib/mosquitto/", with: directory + "/persist/")
            .replacingOccurrences(of: "/var/log/mosquitto/mosquitto.log", with: directory + "/log/mosquitto.log")
            .replacingOccurrences(of: "/etc/mosquitto/conf.d", with: directory + "/conf.d")
            .write(toFile: directory + "/mosquitto.conf", atomically: true, encoding: .utf8)
        let dropIn = try String(contentsOfFile: TestEnvironment.packageRoot + "/Config/mosquitto.conf", encoding: .utf8)
        #expect(dropIn.contains("listener 1883 127.0.0.1"))
        try dropIn.replacingOccurrences(of: "listener 1883 127.0.0.1", with: "listener \(port) 127.0.0.1")
            .write(toFile: directory + "/conf.d/citygate.conf", atomically: true, encoding: .utf8)
        // mosquitto started from the test process does not act on SIGTERM (it
        // never logged "terminating"), so the broker is killed instead; saving
        // its in-memory database every second stands in for the save at
        // shutdown. (The drop-in's 60 s is the same mechanism, slower.)
        try "autosave_interval 1\n".write(toFile: directory + "/conf.d/zz-test-autosave.conf", atomically: true, encoding: .utf8)

        func startBroker() async throws -> ManagedProcess {
            let broker = try ManagedProcess("/usr/sbin/mosquitto", ["-c", directory + "/mosquitto.conf"], directory: directory,
                                            logName: "mosquitto-\(UUID().uuidString.prefix(4)).out")
            guard await TestEnvironment.waitForPort(port, timeout: .seconds(10)) else {
                let log = (try? String(contentsOfFile: directory + "/log/mosquitto.log", encoding: .utf8)) ?? ""
                throw FixtureError("mosquitto did not start with the drop-in: \(broker.log) \(log)")
            }
            return broker
        }
        func subscriber(_ extra: [String]) throws -> (status: Int32, output: Data) {
            try capture("/usr/bin/mosquitto_sub", ["-h", "127.0.0.1", "-p", "\(port)", "-i", "dropin-probe", "-c", "-q", "1", "-t", "probe/#"] + extra)
        }

        var broker = try await startBroker()
        // A persistent session, away while 1,500 QoS 1 messages arrive for it.
        #expect(try subscriber(["-E"]).status == 0)
        let count = 1_500
        let sent = try await FastPublisher.publish((0..<count).map { ("probe/x", Array("message \($0)".utf8)) }, port: port)
        #expect(sent == count)
        // The broker goes down and comes back: the session and its queue were on disk.
        try await Task.sleep(for: .seconds(3))
        #expect(FileManager.default.fileExists(atPath: directory + "/persist/mosquitto.db"), "persistence on, from Debian's own file")
        broker.forceStop()
        broker = try await startBroker()
        let received = try subscriber(["-C", "\(count)", "-W", "20"])
        let lines = String(decoding: received.output, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == count, "every queued message after the restart: \(lines.count)")
        #expect(Set(lines).count == count)
        broker.forceStop()
    }
}
