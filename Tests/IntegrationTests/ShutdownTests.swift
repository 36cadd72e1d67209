import Foundation
import Testing

/// SIGTERM under load: citygate stops taking uplinks, commits, exits 0; the
/// broker keeps the rest in the persistent session, and the next run takes
/// them. Nothing acknowledged is lost, nothing is stored twice.
@Suite(.serialized) struct ShutdownTests {
    @Test func sigtermUnderLoadExitsCleanlyAndLosesNothing() async throws {
        let directory = try TestEnvironment.temporaryDirectory("sigterm")
        let broker = try await Broker(directory: directory)
        var gateway = try await GatewayProcess(broker: broker, directory: directory)
        let count = 3000
        let simulator = try ManagedProcess(TestEnvironment.simulator, ["run", "--broker", broker.url, "--count", "\(count)", "--rate", "600"],
                                           directory: directory, logName: "sim.log")
        try await gateway.waitFor("uplinks flowing", timeout: .seconds(20)) { try await gateway.metric("citygate_uplinks_committed_total") > 500 }
        let started = ContinuousClock.now
        #expect(await gateway.process.stop() == 0, "SIGTERM under load exits 0")
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(gateway.process.log.contains("citygate stopped"))
        #expect(await simulator.waitForExit(timeout: .seconds(60)) == 0)
        gateway = try await GatewayProcess(broker: broker, directory: directory, httpPort: gateway.httpPort)
        try await gateway.waitFor("every uplink stored once", timeout: .seconds(60)) {
            let status = try gateway.status()
            return status["uplinks_stored"] as? Int == count && status["uplinks_pending"] as? Int == 0
        }
        #expect(try SQLiteRows(path: gateway.database).strings("SELECT count(*) FROM uplinks") == ["\(count)"], "no row twice")
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }

    /// A stop asked for while the gateway is still starting (here: waiting
    /// for a broker that is not there) is a clean stop, exit 0, not a kill
    /// by the signal (143). It failed that way now and then when a test
    /// stopped a gateway the moment it answered on HTTP.
    @Test func sigtermDuringStartUpExitsZero() async throws {
        let gateway = try TestEnvironment.gatewayWithNoBroker(TestEnvironment.temporaryDirectory("sigterm-startup"))
        _ = await gateway.waitForLog("citygate starting", timeout: .seconds(20))
        try await Task.sleep(for: .milliseconds(300))  // inside the wait for the broker
        #expect(gateway.process.isRunning)
        #expect(await gateway.stop(grace: .seconds(20)) == 0, "\(gateway.log)")
        #expect(gateway.log.contains("citygate stopped"))
    }
}
