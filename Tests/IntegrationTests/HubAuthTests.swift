import Foundation
import Testing

/// Hub credentials as operators meet them: a token file that is wrong until
/// someone fixes it, an OAuth2 token that expires while the gateway runs,
/// and windows a hub refused until its mapping was fixed (`redeliver`).
@Suite(.serialized) struct HubAuthTests {
    static func config(_ directory: String, hub: String) throws -> String {
        try TestConfig.shipped(directory, """
            [[hub]]
            name = "broker"
            kind = "ngsi-ld"
            retry_max = "1s"
            \(hub)
            """)
    }

    func hub(_ gateway: GatewayProcess) throws -> [String: Any] {
        (try gateway.status()["hubs"] as? [String: [String: Any]])?["broker"] ?? [:]
    }

    @Test func aRefusedTokenPausesTheHubAndRedeliverSendsWhatItRefused() async throws {
        let directory = try TestEnvironment.temporaryDirectory("hub-auth")
        let broker = try await Broker(directory: directory)
        let goodToken = "s3cret-token-42", wrongToken = "expired-token-17"
        let fake = try await NGSILDFake(directory: directory, auth: "bearer:\(goodToken)")
        try await fake.rejectIDs(containing: "ParkingSpot")
        try wrongToken.write(toFile: directory + "/hub.token", atomically: true, encoding: .utf8)
        let config = try Self.config(directory, hub: """
            url = "\(fake.baseURL)"
            auth = "bearer"
            token_file = "hub.token"
            """)
        let gateway = try await GatewayProcess(broker: broker, directory: directory, extra: ["--window", "1s"], config: config)
        _ = try await runSimulator(["--broker", broker.url, "--count", "10", "--rate", "20"], directory: directory)

        // 1. 401: delivery pauses, the backlog stays, one error line.
        try await gateway.waitFor("delivery paused by the hub's 401", timeout: .seconds(30)) {
            try await gateway.metric("citygate_hub_auth_paused{hub=\"broker\"}") == 1
        }
        // Paused means retried at the backoff cap (retry_max 1 s, ±25 %), not hammered: at most
        // 2 attempts a second over the time measured here, however slow the machine.
        let refusalsAtPause = try await fake.received()["unauthorized"] as? Int ?? 0
        let pausedAt = ContinuousClock.now
        try await Task.sleep(for: .seconds(3))
        let paused = try hub(gateway)
        #expect((paused["backlog"] as? Int ?? 0) > 0 && paused["delivered"] as? Int == 0 && paused["dead_lettered"] as? Int == 0)
        let refusals = (try await fake.received()["unauthorized"] as? Int ?? 0) - refusalsAtPause
        let seconds = Double((ContinuousClock.now - pausedAt).components.seconds) + 1
        #expect(refusalsAtPause >= 1 && Double(refusals) <= 2 * seconds, "paused, not hammering the hub: \(refusals) attempts in \(seconds) s")
        #expect(gateway.process.log.components(separatedBy: "refuses the gateway's credentials; delivery to it paused").count - 1 == 1, "one error line, not one per try (a reminder every tenth try)")

        // 2. The operator fixes the file: delivery resumes by itself; the refused parking spot is dead-lettered.
        try goodToken.write(toFile: directory + "/hub.token", atomically: true, encoding: .utf8)
        try await gateway.waitFor("backlog delivered after the token fix", timeout: .seconds(30)) {
            let state = try hub(gateway)
            return state["backlog"] as? Int == 0 && (state["dead_lettered"] as? Int ?? 0) > 0
        }
        #expect(try await gateway.metric("citygate_hub_auth_paused{hub=\"broker\"}") == 0)
        let database = try SQLiteRows(path: gateway.database)
        let answers = try database.strings("SELECT DISTINCT a.kind || ':' || coalesce(d.last_error, '') FROM deliveries d JOIN aggregates a ON a.id = d.aggregate_id WHERE d.state = 3")
        #expect(!answers.isEmpty && answers.allSatisfy { $0.hasPrefix("parking:") && $0.contains("BadRequestData") }, "\(answers)")
        #expect(try await fake.entities.keys.contains { $0.contains("ParkingSpot") } == false)

        // 3. The hub is fixed; `citygate redeliver` sends the dead-lettered windows again.
        try await fake.rejectIDs(containing: "")
        let redeliver = try capture(TestEnvironment.citygate, ["redeliver", "--config", config, "--database", gateway.database, "--hub", "broker"])
        #expect(redeliver.status == 0)
        #expect(String(decoding: redeliver.output, as: UTF8.self).contains("queued again"))
        try await gateway.waitFor("dead-lettered windows delivered", timeout: .seconds(30)) {
            let state = try hub(gateway)
            return state["backlog"] as? Int == 0 && state["dead_lettered"] as? Int == 0
        }
        #expect(try await fake.entities.keys.contains { $0.contains("ParkingSpot") })
        #expect(try capture(TestEnvironment.citygate, ["redeliver", "--config", config, "--database", gateway.database, "--hub", "nope"]).status != 0)

        // Secrets never reach the log.
        let log = gateway.process.log
        #expect(!log.contains(goodToken) && !log.contains(wrongToken))
        #expect(await gateway.process.stop() == 0)
        fake.process.forceStop()
        broker.process.forceStop()
    }

    @Test func anOAuth2TokenIsRefreshedBeforeItExpires() async throws {
        let directory = try TestEnvironment.temporaryDirectory("hub-oauth")
        let broker = try await Broker(directory: directory)
        let secret = "client-secret-9f8e"
        // Tokens live 2 s: a 7 s run needs several, and none may be used expired.
        let fake = try await NGSILDFake(directory: directory, auth: "oauth2:citygate:\(secret):2")
        try secret.write(toFile: directory + "/client.secret", atomically: true, encoding: .utf8)
        let config = try Self.config(directory, hub: """
            url = "\(fake.baseURL)"
            auth = "oauth2"
            token_url = "\(fake.baseURL)/token"
            client_id = "citygate"
            client_secret_file = "client.secret"
            """)
        let gateway = try await GatewayProcess(broker: broker, directory: directory, extra: ["--window", "1s"], config: config)
        _ = try await runSimulator(["--broker", broker.url, "--count", "28", "--rate", "4"], directory: directory)
        try await gateway.waitFor("everything delivered", timeout: .seconds(30)) {
            let state = try hub(gateway)
            let changedWindows = try SQLiteRows(path: gateway.database).strings("SELECT count(*) FROM device_sessions WHERE open_until_ms IS NOT NULL")
            return state["backlog"] as? Int == 0 && (state["delivered"] as? Int ?? 0) > 0 && changedWindows == ["0"]
        }
        let received = try await fake.received()
        #expect((received["tokensIssued"] as? Int ?? 0) >= 2, "refreshed during the run")
        #expect(received["unauthorized"] as? Int == 0, "never sent an expired token")
        #expect(!gateway.process.log.contains(secret))
        #expect(await gateway.process.stop() == 0)
        fake.process.forceStop()
        broker.process.forceStop()
    }
}
