import Foundation

/// The FROST-like SensorThings test server (Fixtures/frost_like/server.py):
/// not FROST-Server, which cannot run here, but the behaviours of it that
/// ../shared/reference/hub/real-hubs.md documents (its first lines list each
/// with its source). Integer ids, 201 with `error …` rows, 409 for a Thing
/// without a Location, strict time offsets, interval phenomenonTime.
/// Python's standard library only; entities in `directory`/frost.sqlite.
final class FrostLikeServer: @unchecked Sendable {
    let port: Int
    let process: ManagedProcess
    let database: String
    let errorRows: Double
    let delayMillis: Int
    var serviceRoot: String { "http://127.0.0.1:\(port)/FROST-Server/v1.1" }

    /// `errorRows`: the fraction of rows answered `error …` on their first attempt.
    /// `delayMillis`: each CreateObservations answer is held this long after the rows are stored.
    init(directory: String, port: Int? = nil, errorRows: Double = 0, delayMillis: Int = 0) async throws {
        self.port = port ?? TestEnvironment.freePort()
        self.errorRows = errorRows
        self.delayMillis = delayMillis
        database = directory + "/frost.sqlite"
        let script = TestEnvironment.packageRoot + "/Tests/IntegrationTests/Fixtures/frost_like/server.py"
        process = try ManagedProcess("/usr/bin/python3", [script, "--port", "\(self.port)", "--db", database, "--error-rows", "\(errorRows)", "--delay-ms", "\(delayMillis)"],
                                     directory: directory, logName: "frost-like.log")
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let response = await TestEnvironment.get(serviceRoot + "/Things"), response.status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw FixtureError("the FROST-like server did not start: \(process.log)")
    }

    /// Every Observation it holds, from its own database.
    func rows(_ sql: String) throws -> [String] { try SQLiteRows(path: database).strings(sql) }
}
