import Foundation
import Readings
import Testing

/// A simulated half day of a mixed fleet, forwarded at once to a real
/// SensorThings server, the fake NGSI-LD broker and a private file output.
/// The test computes every aggregate and zone roll-up itself from what the
/// simulator sent and compares them with what each hub holds.
@Suite(.serialized) struct HubDeliveryTests {
    /// One window of one series, computed here independently of the gateway.
    struct Series {
        var values: [(time: Int64, value: Int64)] = []
        var count: Int { values.count }
        var minimum: Int64 { values.map(\.value).min()! }
        var maximum: Int64 { values.map(\.value).max()! }
        var last: Int64 { values.max { $0.time < $1.time }!.value }
        var sum: Int128 { values.reduce(0) { $0 + Int128($1.value) } }
        var mean: Int64 { independentMean(sum: sum, count: count) }
    }

    struct Key: Hashable { var source: String; var series: String; var start: Int64 }

    /// NGSI-LD attribute per metric, from the Smart Data Models (reference/hub/ngsi-ld).
    static let attributes = ["temperature": "temperature", "relative_humidity": "relativeHumidity", "co2": "co2", "pm2_5": "pm25",
                             "pm10": "pm10", "light": "illuminance", "motion": "motion", "distance": "distance",
                             "battery_level": "batteryLevel", "battery_voltage": "batteryVoltage", "occupied": "status",
                             "pressure": "atmosphericPressure"]
    static let entityTypes = ["air_quality": "AirQualityObserved", "waste_bin": "WasteContainer", "parking": "ParkingSpot",
                              "damp": "IndoorEnvironmentObserved", "generic": "DeviceMeasurement"]

    @Test func aSimulatedHalfDayReachesEveryHubAsIndependentlyComputedAggregates() async throws {
        let devices = 30, hours = 12, minimumHomes = 3
        let hour: Int64 = 3_600_000
        let directory = try TestEnvironment.temporaryDirectory("hubs")
        let broker = try await Broker(directory: directory)
        let sensorThings = try await SensorThingsServer(directory: directory)
        let ngsi = try await NGSILDFake(directory: directory)
        let (config, registry) = try await TestConfig.fleet(directory, devices: devices, gateway: "id = \"madrid\"",
                                                             privacy: "[privacy]\nmin_zone_homes = \(minimumHomes)", """
            [[hub]]
            name = "opendata"
            kind = "sensorthings"
            phenomenon_time = "instant"
            url = "\(sensorThings.serviceRoot)"
            [[hub]]
            name = "broker"
            kind = "ngsi-ld"
            url = "\(ngsi.baseURL)"
            batch_size = 100
            [[hub]]
            name = "housing"
            kind = "file"
            url = "housing"
            private = true
            """)
        let gateway = try await GatewayProcess(broker: broker, directory: directory, extra: ["--window", "1h"], config: config)

        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let start = (now / hour - Int64(hours) - 2) * hour + 60_000
        // 100 uplinks/s: an hour of the fleet takes 0.3 s to arrive, so the
        // gateway's aggregation passes (one a second) land mid-hour several
        // times, as they do while a backlog drains after an outage.
        _ = try await runSimulator(["--broker", broker.url, "--devices", "\(devices)", "--count", "\(devices * hours)", "--rate", "100",
                                    "--simulated-start", RFC3339.format(start), "--interval", "1h",
                                    "--manifest", directory + "/manifest.ndjson"], directory: directory)

        // Zone and kind of every device, from the registry the simulator wrote.
        var zoneOf: [String: String] = [:], kindOf: [String: String] = [:]
        var current = ""
        for line in registry.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            guard parts.count == 2 else { continue }
            if parts[0] == "id" { current = parts[1] }
            if parts[0] == "zone" { zoneOf[current] = parts[1] }
            if parts[0] == "kind" { kindOf[current] = parts[1] }
        }

        // Device windows, from the manifest.
        var windows: [Key: Series] = [:]
        let manifest = try String(contentsOfFile: directory + "/manifest.ndjson", encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(manifest.count == devices * hours)
        for frame in manifest {
            let device = frame["device"] as! String
            let time = (frame["timeMs"] as! NSNumber).int64Value
            for value in frame["values"] as! [[String: Any]] {
                let metric = value["metric"] as! String
                let series = (value["channel"] as? Int).map { "\(metric).\($0)" } ?? metric
                windows[Key(source: device, series: series, start: time - time % hour), default: Series()]
                    .values.append((time, (value["value"] as! NSNumber).int64Value))
            }
        }
        // Zone roll-ups: one member value per device (its mean; for parking its last state).
        var rollups: [Key: Series] = [:]
        var homes: [String: Set<String>] = [:]
        for (key, series) in windows {
            let kind = kindOf[key.source]!
            if kind == "damp" { homes[zoneOf[key.source]!, default: []].insert(key.source) }
            let member = key.series == "occupied" ? series.last : series.mean
            rollups[Key(source: "zone:\(zoneOf[key.source]!):\(kind)", series: key.series, start: key.start), default: Series()]
                .values.append((series.values.map(\.time).max()!, member))
        }
        let publicZones = Set(homes.filter { $0.value.count >= minimumHomes }.keys)
        let hiddenZones = Set(homes.keys).subtracting(publicZones)
        #expect(!publicZones.isEmpty && !hiddenZones.isEmpty, "the fleet must have damp zones on both sides of k: \(homes)")
        func isPublic(_ key: Key, rollup: Bool) -> Bool {
            guard key.source.hasSuffix(":damp") || kindOf[key.source] == "damp" else { return true }
            return rollup && publicZones.contains(key.source.split(separator: ":")[1].description)
        }
        let publicDevice = windows.filter { isPublic($0.key, rollup: false) }
        let publicRollups = rollups.filter { isPublic($0.key, rollup: true) }

        // Wait for all three hubs.
        try await gateway.waitFor("every hub's backlog delivered", timeout: .seconds(300)) {
            let status = try gateway.status()
            guard status["uplinks_stored"] as? Int == devices * hours, status["uplinks_pending"] as? Int == 0 else { return false }
            let hubs = status["hubs"] as? [String: [String: Any]] ?? [:]
            let database = try SQLiteRows(path: gateway.database)
            return try database.strings("SELECT count(*) FROM device_sessions WHERE open_until_ms IS NOT NULL") == ["0"]
                && database.strings("SELECT count(*) FROM aggregates WHERE rollup_pending = 1") == ["0"]
                && ["opendata", "broker", "housing"].allSatisfy { hubs[$0]?["backlog"] as? Int == 0 && (hubs[$0]?["delivered"] as? Int ?? 0) > 0 }
        }
        let dead = try SQLiteRows(path: gateway.database).strings("SELECT count(*) FROM deliveries WHERE state = 3")
        #expect(dead == ["0"], "nothing dead-lettered")

        // 1. SensorThings: every public window and roll-up once, with exact statistics.
        let observations = try await sensorThings.observations()
        var seen: [String: Int] = [:]
        var compared = 0
        for observation in observations {
            let parameters = try #require(observation["parameters"] as? [String: Any])
            let windowKey = try #require(parameters["windowKey"] as? String)
            seen[windowKey, default: 0] += 1
            let parts = windowKey.split(separator: "/").map(String.init)
            let key = Key(source: parts[0], series: parts[1], start: RFC3339.parseMillis(parts[2])!)
            let rollup = key.source.hasPrefix("zone:")
            #expect(isPublic(key, rollup: rollup), "a public hub got \(windowKey)")
            // Derived damp metrics (dew point, mould risk) are the gateway's own; the rest is checked here.
            guard let want = (rollup ? rollups : windows)[key] else {
                #expect(["dew_point", "mould_risk"].contains(key.series), "unexpected window \(windowKey)")
                continue
            }
            let decimals = Metric.named(key.series.split(separator: ".")[0].description)!.decimals
            func number(_ value: Int64) -> Double { Double(FixedPoint.decimalString(value, decimals: decimals))! }
            #expect((observation["result"] as? NSNumber)?.doubleValue == number(want.mean), "mean of \(windowKey)")
            #expect((parameters["count"] as? NSNumber)?.intValue == want.count, "count of \(windowKey)")
            #expect((parameters["min"] as? NSNumber)?.doubleValue == number(want.minimum), "min of \(windowKey)")
            #expect((parameters["max"] as? NSNumber)?.doubleValue == number(want.maximum), "max of \(windowKey)")
            #expect(observation["phenomenonTime"] as? String == RFC3339.format(key.start + hour).replacingOccurrences(of: "Z", with: "+00:00"))
            compared += 1
        }
        #expect(seen.values.allSatisfy { $0 == 1 }, "each window once: \(seen.filter { $0.value > 1 }.keys.sorted().prefix(3))")
        #expect(compared == publicDevice.count + publicRollups.count, "every public window and roll-up at the SensorThings hub")

        // 2. NGSI-LD: each window once in each attribute's history, the mean as the default instance.
        let received = try await ngsi.received()
        let history = received["history"] as? [String: [[Any]]] ?? [:]
        let entities = received["entities"] as? [String: [String: Any]] ?? [:]
        var checked = 0
        for (key, want) in publicDevice {
            let metric = key.series.split(separator: ".")[0].description
            guard let attribute = Self.attributes[metric] else { Issue.record("no attribute for \(metric)"); continue }
            let id = "urn:ngsi-ld:\(Self.entityTypes[kindOf[key.source]!]!):madrid:\(key.source)"
            let end = RFC3339.format(key.start + hour)
            let entries = (history["\(id)|\(attribute)|"] ?? []).filter { $0[0] as? String == end }
            #expect(entries.count == 1, "\(id) \(attribute) at \(end): \(entries.count) history entries")
            if metric == "occupied" {
                #expect(entries.first?[1] as? String == (want.last == 0 ? "free" : "occupied"))
            } else if let got = (entries.first?[1] as? NSNumber)?.doubleValue {
                let scale = ["relative_humidity"].contains(metric) ? 2 : 0
                let decimals = Metric.named(metric)!.decimals + scale
                #expect(got == Double(FixedPoint.decimalString(want.mean, decimals: decimals))!, "\(id) \(attribute) at \(end)")
            }
            checked += 1
        }
        #expect(checked == publicDevice.count)
        // Parking zones as OnStreetParking: occupied + available = spots reporting.
        var parkingZones = 0
        for (key, want) in publicRollups where key.source.hasSuffix(":parking") && key.series == "occupied" {
            let zone = key.source.split(separator: ":")[1]
            let id = "urn:ngsi-ld:OnStreetParking:madrid:zone:\(zone):parking"
            let end = RFC3339.format(key.start + hour)
            let occupied = (history["\(id)|occupiedSpotNumber|"] ?? []).filter { $0[0] as? String == end }
            let available = (history["\(id)|availableSpotNumber|"] ?? []).filter { $0[0] as? String == end }
            let occupiedCount = want.values.filter { $0.value == 1 }.count
            // Exactly once, with every member: this replayed past arrives while
            // aggregation passes go on, and a zone is rolled up only once its
            // members have stopped closing (`RollupSettling`), not from the
            // first of them and then revised.
            #expect(occupied.count == 1 && (occupied.first?[1] as? Int) == occupiedCount, "\(id) at \(end): \(occupied)")
            #expect(available.count == 1 && (available.first?[1] as? Int) == want.count - occupiedCount, "\(id) at \(end): \(available)")
            parkingZones += 1
        }
        #expect(parkingZones > 0)
        // Privacy at the NGSI-LD hub: no per-home entity; damp only for zones with at least k homes.
        for (id, entity) in entities where entity["type"] as? String == "IndoorEnvironmentObserved" {
            #expect(entity["refDevice"] == nil, "per-home entity \(id) reached a public hub")
            #expect(publicZones.contains { id.hasSuffix(":zone:\($0):damp") }, "damp zone under k at a public hub: \(id)")
        }
        // Every upsert carried a @context per entity, as application/ld+json without a Link header.
        for upsert in received["upserts"] as? [[String: Any]] ?? [] {
            #expect(upsert["contentType"] as? String == "application/ld+json" && upsert["link"] is NSNull)
            for entity in upsert["entities"] as? [[String: Any]] ?? [] { #expect(entity["@context"] is [String]) }
        }
        #expect(try await gateway.metric("citygate_aggregates_suppressed_total{reason=\"k_anonymity\"}") > 0)
        // Every entity validates against its Smart Data Models JSON Schema
        // (offline copies; Fixtures/sdm_schemas/validate.py), but for the
        // deviations the README lists.
        let schemaErrors = try SmartDataModelSchemas.errors(Array(entities.values), directory: directory)
        #expect(schemaErrors.isEmpty, "\(schemaErrors.prefix(5))")

        // 3. The private file output got the per-home windows too.
        let files = try FileManager.default.contentsOfDirectory(atPath: directory + "/housing").filter { $0.hasSuffix(".ndjson") }
        var housingKeys: Set<String> = []
        for file in files {
            for line in try String(contentsOfFile: directory + "/housing/" + file, encoding: .utf8).split(separator: "\n") {
                housingKeys.insert((try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])["id"] as! String)
            }
        }
        let homeWindows = windows.keys.filter { kindOf[$0.source] == "damp" }
        #expect(!homeWindows.isEmpty)
        for key in homeWindows {
            #expect(housingKeys.contains("\(key.source)/\(key.series)/\(RFC3339.format(key.start))/PT1H"), "private hub lacks \(key)")
        }

        #expect(await gateway.process.stop() == 0)
        sensorThings.process.forceStop()
        ngsi.process.forceStop()
        broker.process.forceStop()
    }
}
