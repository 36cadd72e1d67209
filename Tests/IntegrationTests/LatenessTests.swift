import Foundation
import Readings
import Testing

/// A reading that comes after its window closed, within the lateness, makes
/// the hub update the window it already holds (same Observation, PATCHed);
/// one that comes later than that is stored and counted, and the hub's
/// window stays as it was.
@Suite(.serialized) struct LatenessTests {
    static func uplink(fCnt: Int, time: Int64, payload: String) -> String {
        #"{"deviceInfo":{"devEui":"a840410000000501","deviceProfileName":"cayenne"},"fCnt":\#(fCnt),"fPort":1,"time":"\#(RFC3339.format(time))","data":"\#(payload)"}"#
    }

    @Test func aLateReadingRevisesTheWindowATooLateOneIsOnlyCounted() async throws {
        let directory = try TestEnvironment.temporaryDirectory("lateness")
        let broker = try await Broker(directory: directory)
        let hub = try await SensorThingsServer(directory: directory)
        let config = try TestConfig.shipped(directory, """
            [aggregation]
            lateness = "20s"
            [[hub]]
            name = "opendata"
            kind = "sensorthings"
            phenomenon_time = "instant"
            url = "\(hub.serviceRoot)"
            """)
        // 2 s windows; grace scales to 400 ms.
        let gateway = try await GatewayProcess(broker: broker, directory: directory, extra: ["--window", "2s"], config: config)
        let topic = "application/app/device/a840410000000501/event/up"
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let start = now - now % 2000
        let key = "a840410000000501/temperature.1/\(RFC3339.format(start))/PT2S"
        func window() async throws -> [[String: Any]] {
            try await hub.observations().filter { ($0["parameters"] as? [String: Any])?["windowKey"] as? String == key }
        }

        // On time: 25.5 °C.
        try broker.publish(topic: topic, message: Self.uplink(fCnt: 1, time: start + 100, payload: "AWcA/w=="))
        try await gateway.waitFor("the window at the hub", timeout: .seconds(20)) { try await window().count == 1 }

        // After the window closed, within the lateness: 30.0 °C → the same Observation, revised.
        let closedAt = start + 2000 + 400
        #expect(Int64(Date().timeIntervalSince1970 * 1000) > closedAt)
        try broker.publish(topic: topic, message: Self.uplink(fCnt: 2, time: start + 200, payload: "AWcBLA=="))
        try await gateway.waitFor("the revised window at the hub", timeout: .seconds(20)) {
            let parameters = try await window().first?["parameters"] as? [String: Any]
            return (parameters?["count"] as? NSNumber)?.intValue == 2
        }
        let revised = try await window()
        #expect(revised.count == 1, "an update, not a second observation")
        #expect((revised.first?["result"] as? NSNumber)?.doubleValue == 27.75)
        #expect(((revised.first?["parameters"] as? [String: Any])?["revision"] as? NSNumber)?.intValue == 2)

        // Past the lateness (end + grace + 20 s): stored and counted, not aggregated. (20 s:
        // a first delivery provisions Thing, Sensor, property, stream and feature, each
        // looked up first, and a loaded CI machine took 7 s for it with 6 s of lateness.)
        let lateBy = closedAt + 20_000 + 300 - Int64(Date().timeIntervalSince1970 * 1000)
        if lateBy > 0 { try await Task.sleep(for: .milliseconds(lateBy)) }
        try broker.publish(topic: topic, message: Self.uplink(fCnt: 3, time: start + 300, payload: "AWcAZA=="))
        try await gateway.waitFor("the too-late reading counted", timeout: .seconds(20)) {
            try await gateway.metric("citygate_readings_too_late_total") == 1
        }
        try await Task.sleep(for: .seconds(1))
        // Said once, with the window, how many and the lateness (decided as the reading was recorded).
        let line = gateway.process.log.split(separator: "\n").first { $0.contains("after their window's lateness") }
        #expect(line?.contains("window=\(key)") == true && line?.contains("readings=1") == true && line?.contains("lateness_ms=20000") == true,
                "\(line.map(String.init) ?? "no line")")
        let after = try await window()
        #expect(after.count == 1)
        #expect((after.first?["result"] as? NSNumber)?.doubleValue == 27.75, "the published window did not change")
        let status = try gateway.status()
        #expect(status["readings_too_late"] as? Int == 1)
        #expect(status["uplinks_stored"] as? Int == 3, "the late uplink is kept")
        #expect(await gateway.process.stop() == 0)
        hub.process.forceStop()
        broker.process.forceStop()
    }
}
