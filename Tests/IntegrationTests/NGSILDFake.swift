import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The FAKE NGSI-LD broker (`Fixtures/ngsild_fake/server.py`) on a free port:
/// no real NGSI-LD broker installs here. It answers as the spec and the
/// reference notes document (201/204/207/400, scripted 429/503/504), does
/// JSON-LD expansion and compaction for real (pyld), and records what it
/// received. `mode` "orion-ld-1" adds what Orion-LD 1.x does that the spec
/// does not say (datasetId refused in batch upserts; real-hubs.md).
final class NGSILDFake: @unchecked Sendable {
    enum Mode: String { case jsonld, orionLD1 = "orion-ld-1" }

    let port: Int
    let process: ManagedProcess
    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// `auth`: none, bearer:TOKEN, x-auth-token:TOKEN or oauth2:CLIENT:SECRET:EXPIRES_IN.
    /// `delay`: each upsert answer is held this long (a batch stays in flight).
    init(directory: String, auth: String = "none", mode: Mode = .jsonld, delay: Duration = .zero) async throws {
        port = TestEnvironment.freePort()
        let script = TestEnvironment.packageRoot + "/Tests/IntegrationTests/Fixtures/ngsild_fake/server.py"
        let delayMillis = delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000
        process = try ManagedProcess(try TestEnvironment.hubPython(),
                                     [script, "--port", "\(port)", "--auth", auth, "--mode", mode.rawValue, "--delay-ms", "\(delayMillis)"],
                                     directory: directory, logName: "ngsild-fake.log")
        guard await TestEnvironment.waitForPort(port, timeout: .seconds(20)) else {
            throw FixtureError("the fake NGSI-LD broker did not start: \(process.log)")
        }
        // Something answering on the port is not proof that it is this fake
        // (see `freePort`): it must answer its own request.
        guard case .success(let answer) = await TestEnvironment.getExplained(baseURL + "/_fake/received", attempts: 5), answer.status == 200,
              (try? JSONSerialization.jsonObject(with: answer.body)) is [String: Any] else {
            throw FixtureError("port \(port) answers, but not as the fake NGSI-LD broker; its log: \(process.log)")
        }
    }

    /// Everything received so far (see server.py: upserts, answers, history, entities, tokensIssued).
    func received() async throws -> [String: Any] {
        // Five tries: a CI run lost this poll once, at once and for a reason
        // it did not keep, while the machine started Chromium beside it.
        let response: (status: Int, body: Data)
        switch await TestEnvironment.getExplained(baseURL + "/_fake/received", attempts: 5) {
        case .success(let answer): response = answer
        case .failure(let error):
            throw FixtureError("GET /_fake/received failed (\(error)); the fake's log ends: \(process.log.suffix(1500))")
        }
        guard response.status == 200 else {
            throw FixtureError("GET /_fake/received answered \(response.status): \(String(decoding: response.body.prefix(500), as: UTF8.self))")
        }
        guard let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any] else {
            throw FixtureError("GET /_fake/received: not a JSON object: \(String(decoding: response.body.prefix(500), as: UTF8.self))")
        }
        return object
    }

    var entities: [String: [String: Any]] {
        get async throws { try await received()["entities"] as? [String: [String: Any]] ?? [:] }
    }

    /// The answers for the next upserts, in order.
    func script(_ responses: [[String: Any]]) async throws {
        try await post("/_fake/script", ["responses": responses])
    }

    func rejectIDs(containing text: String) async throws {
        try await post("/_fake/config", ["rejectIds": text])
    }

    func post(_ path: String, _ body: [String: Any]) async throws {
        var request = URLRequest(url: URL(string: baseURL + path)!, timeoutInterval: 10)
        request.httpMethod = "POST"
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        let (_, response) = try await URLSession.shared.data(for: request)
        guard (response as? HTTPURLResponse)?.statusCode == 204 else { throw FixtureError("POST \(path) failed") }
    }
}

/// The Smart Data Models JSON Schema check (Fixtures/sdm_schemas/validate.py,
/// jsonschema in the hub venv): the schema errors of each entity, less the
/// deviations README "Hubs" lists with their reasons.
enum SmartDataModelSchemas {
    /// Known deviations, by schema error text: IndoorEnvironmentObserved puts
    /// minimum 0 on temperature, and a damp zone below freezing is real data.
    static let deviations = ["temperature: -"]

    static func errors(_ entities: [[String: Any]], directory: String) throws -> [String] {
        let file = directory + "/ngsi-ld-entities.json"
        try JSONSerialization.data(withJSONObject: entities).write(to: URL(fileURLWithPath: file))
        let script = TestEnvironment.packageRoot + "/Tests/IntegrationTests/Fixtures/sdm_schemas/validate.py"
        let run = try capture(try TestEnvironment.hubPython(), [script, file])
        guard run.status == 0, let report = try JSONSerialization.jsonObject(with: run.output) as? [String: [String]] else {
            throw FixtureError("the schema check failed: \(String(decoding: run.output, as: UTF8.self).prefix(500))")
        }
        return report.sorted { $0.key < $1.key }.flatMap { id, errors in
            errors.filter { error in !deviations.contains { error.hasPrefix($0) } }.map { "\(id): \($0)" }
        }
    }
}
