import Foundation
import Testing

/// Run by hand outside systemd (an operator's root shell on an edge box, where
/// the umask is usually 022), the gateway still keeps the city's data to its
/// owner: the state directory it makes is 0700, the database, its WAL and the
/// lock file 0600 (README "Install on an edge box"; the unit says UMask=0077).
@Suite struct FileModeTests {
    @Test func whatTheGatewayCreatesByHandIsTheOwnersAlone() async throws {
        let directory = try TestEnvironment.temporaryDirectory("modes")
        let state = directory + "/var/lib/citygate"
        let config = try TestConfig.shipped(directory, "state_directory = \"\(state)\"")
        // The usual interactive umask, whatever the test runner's is.
        let previous = umask(0o022)
        defer { umask(previous) }
        let gateway = try ManagedProcess(
            TestEnvironment.citygate,
            ["run", "--config", config, "--broker", "mqtt://127.0.0.1:\(TestEnvironment.freePort())", "--http-listen", ""],
            directory: directory, logName: "citygate.log")
        let database = state + "/citygate.sqlite"
        let deadline = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: database + "-wal") && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        func mode(_ path: String) throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? -1) & 0o777
        }
        #expect(try mode(state) == 0o700, "the state directory")
        #expect(try mode(database) == 0o600, "the database")
        #expect(try mode(database + "-wal") == 0o600, "its WAL")
        #expect(try mode(database + ".lock") == 0o600, "the lock file")
        // The directories above the state directory are the operator's
        // (as /var/lib is), made with the umask-masked 0700 too, never wider.
        #expect(try mode(directory + "/var/lib") & 0o077 == 0, "directories made on the way")
        // A stop while start-up still waits for the broker is not held for the wait.
        #expect(await gateway.stop(grace: .seconds(5)) == 0, "\(gateway.log)")
    }
}
