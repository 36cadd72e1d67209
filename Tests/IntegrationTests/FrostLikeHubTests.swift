import Foundation
import Readings
import Testing

/// Against a hub that behaves as FROST-Server is documented to
/// (FrostLikeServer): a fifth of the rows answered `error …` in a 201 on
/// their first attempt, integer ids, strict times, and a third of the devices
/// without coordinates (placed by their zone: a [[zone]] point, or the
/// centroid of the zone's located devices). Every window reaches the hub
/// exactly once, none is counted delivered that is not there, every
/// Observation names a FeatureOfInterest, and the backlog and the dead
/// letters end at 0.
@Suite(.serialized) struct FrostLikeHubTests {
    /// Removes the coordinates of every third device; a zone left with no
    /// located device gets a [[zone]] point instead. Returns the devices
    /// made unlocated, and how many zones needed a point.
    static func unlocateEveryThirdDevice(_ registry: String) -> (text: String, unlocated: [String], zonePoints: Int) {
        var blocks = registry.components(separatedBy: "[[device]]")
        var unlocated: [String] = []
        var stripped: [(zone: String, longitude: String, latitude: String)] = []
        var locatedZones: Set<String> = []
        func field(_ name: String, _ block: String) -> String? {
            block.split(separator: "\n").first { $0.hasPrefix("\(name) = ") }.map { String($0.dropFirst(name.count + 3)) }
        }
        for index in blocks.indices.dropFirst() {
            let block = blocks[index]
            guard let zone = field("zone", block), let longitude = field("longitude", block), let latitude = field("latitude", block),
                  let id = field("id", block) else { continue }
            if index % 3 == 0 {
                unlocated.append(id.replacingOccurrences(of: "\"", with: ""))
                stripped.append((zone, longitude, latitude))
                blocks[index] = block.split(separator: "\n", omittingEmptySubsequences: false)
                    .filter { !$0.hasPrefix("longitude = ") && !$0.hasPrefix("latitude = ") }.joined(separator: "\n")
            } else {
                locatedZones.insert(zone)
            }
        }
        var text = blocks.joined(separator: "[[device]]")
        var points = Set<String>()
        for entry in stripped where !locatedZones.contains(entry.zone) && points.insert(entry.zone).inserted {
            text += "\n[[zone]]\nname = \(entry.zone)\nlongitude = \(entry.longitude)\nlatitude = \(entry.latitude)\n"
        }
        return (text, unlocated, points.count)
    }

    @Test func errorRowsAndDevicesWithoutCoordinatesStillDeliverEveryWindowOnce() async throws {
        let devices = 15, hours = 12
        let directory = try TestEnvironment.temporaryDirectory("frost-like")
        let broker = try await Broker(directory: directory)
        let hub = try await FrostLikeServer(directory: directory, errorRows: 0.2)
        let (config, registry) = try await TestConfig.fleet(directory, devices: devices, """
            [[hub]]
            name = "frost"
            kind = "sensorthings"
            url = "\(hub.serviceRoot)"
            batch_size = 50
            retry_max = "1s"
            """)
        let placed = Self.unlocateEveryThirdDevice(registry)
        #expect(placed.unlocated.count == devices / 3 && placed.zonePoints > 0, "\(placed.unlocated) \(placed.zonePoints)")
        try placed.text.write(toFile: directory + "/devices.toml", atomically: true, encoding: .utf8)
        let gateway = try await GatewayProcess(broker: broker, directory: directory, extra: ["--window", "1h"], config: config)
        try await playSimulatedHours(hours, devices: devices, broker: broker, directory: directory)

        let ledger = try SQLiteRows(path: gateway.database)
        // Midway, the hub loses its FeaturesOfInterest (a reset, a cleanup):
        // rows naming them are answered "error No such entity 'FeatureOfInterest'",
        // and the gateway makes them again and resends those rows.
        try await gateway.waitFor("some windows at the hub", timeout: .seconds(120)) {
            Int(try hub.rows("SELECT count(*) FROM observations").first ?? "0") ?? 0 > 100
        }
        // One transaction: the server checks and stores each CreateObservations
        // request in its own, so every Observation above beforeLoss was
        // checked against the features left after the loss.
        let loss = try SQLiteRows(path: hub.database).execute("""
            BEGIN IMMEDIATE;
            SELECT count(*) FROM entities WHERE collection = 'FeaturesOfInterest';
            DELETE FROM entities WHERE collection = 'FeaturesOfInterest';
            SELECT coalesce(max(id), 0) FROM observations;
            COMMIT;
            """)
        let lost = loss.first ?? "0", beforeLoss = loss.last ?? "0"
        try await gateway.waitFor("every window settled", timeout: .seconds(180)) {
            try ledger.strings("SELECT count(*) FROM device_sessions WHERE open_until_ms IS NOT NULL") == ["0"]
                && ledger.strings("SELECT count(*) FROM aggregates WHERE rollup_pending = 1") == ["0"]
                && ledger.strings("SELECT count(*) FROM deliveries WHERE state IN (0, 1)") == ["0"]
        }
        let windows = try ledger.strings("SELECT count(*) FROM deliveries WHERE hub = 'frost'").first ?? ""
        let deadLetters = try ledger.strings("SELECT last_error FROM deliveries WHERE state = 3")
        #expect(deadLetters.isEmpty, "dead letters: \(deadLetters.prefix(3))")
        // At the hub, counted in its own database: each window once.
        let atHub = try hub.rows("SELECT count(*) || '|' || count(DISTINCT json_extract(parameters, '$.windowKey')) FROM observations")
        #expect(atHub == ["\(windows)|\(windows)"], "each window once at the hub: \(atHub) for \(windows) windows")
        // Rows were refused and then taken: the 20 % were really tried.
        let refusedFirst = try hub.rows("SELECT count(*) FROM attempted").first.flatMap { Int($0) } ?? 0
        #expect(refusedFirst > 0, "no row was refused on its first attempt")
        #expect(try await gateway.metric("citygate_delivery_errors_total{hub=\"frost\",kind=\"refused_row\"}") >= Double(refusedFirst))
        // Every Observation names a FeatureOfInterest the gateway made (none derived by the server),
        // carries its window as an interval, and its window end as resultTime.
        #expect(try hub.rows("SELECT count(*) FROM observations WHERE feature IS NULL") == ["0"])
        #expect(try hub.rows("SELECT count(*) FROM entities WHERE collection = 'FeaturesOfInterest' AND json_extract(body, '$._from_location') IS NOT NULL") == ["0"])
        #expect(try hub.rows("""
            SELECT count(*) FROM observations
            WHERE phenomenon_time <> json_extract(parameters, '$.windowStart') || '/' || json_extract(parameters, '$.windowEnd')
               OR result_time <> json_extract(parameters, '$.windowEnd')
            """) == ["0"])
        // After the loss, every Observation names a feature the hub holds again.
        #expect(try hub.rows("""
            SELECT count(*) FROM observations o
            WHERE o.id > \(beforeLoss) AND NOT EXISTS (SELECT 1 FROM entities e WHERE e.id = o.feature AND e.collection = 'FeaturesOfInterest')
            """) == ["0"])
        #expect(try hub.rows("SELECT count(*) FROM observations WHERE id > \(beforeLoss)") != ["0"], "nothing arrived after the loss")
        let remade = try hub.rows("SELECT count(*) FROM entities WHERE collection = 'FeaturesOfInterest'")
        #expect(lost != "0" && remade != ["0"], "lost \(lost), made again \(remade)")
        // An unlocated device's observations are placed at its zone.
        let zoneFeatures = try hub.rows("SELECT count(*) FROM entities WHERE collection = 'FeaturesOfInterest' AND json_extract(body, '$.name') LIKE 'zone %'")
        #expect(zoneFeatures != ["0"], "no zone feature was made for the devices without coordinates")
        // Provisioning made one entity per key, whatever was retried.
        #expect(try hub.rows("""
            SELECT count(*) FROM (SELECT json_extract(body, '$.properties.citygateKey') AS key FROM entities
                                  WHERE key IS NOT NULL GROUP BY key HAVING count(*) > 1)
            """) == ["0"])
        let status = try gateway.status()
        let frost = try #require((status["hubs"] as? [String: Any])?["frost"] as? [String: Any])
        #expect(frost["backlog"] as? Int == 0 && frost["dead_lettered"] as? Int == 0, "\(frost)")
        FileHandle.standardError.write(Data("frost-like: \(windows) windows, \(atHub.first ?? "?") at the hub (rows|distinct), \(deadLetters.count) dead-lettered, \(refusedFirst) rows refused on their first attempt, \(placed.unlocated.count) devices placed by zone\n".utf8))
        #expect(await gateway.process.stop() == 0)
        hub.process.forceStop()
        broker.process.forceStop()
    }
}
