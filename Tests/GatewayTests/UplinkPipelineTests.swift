import Codecs
import Foundation
import Gateway
import Readings
import Store
import Uplink
import Testing

/// The pure pipeline: envelope → codec → derived values → validation → window.
@Suite struct UplinkPipelineTests {
    static let devices = """
        [[device]]
        id = "a840410000000401"
        codec = "dragino:lht65"
        kind = "damp"

        [[device]]
        id = "a840410000000201"
        codec = "milesight:em310-udl"
        kind = "waste_bin"
        bin_depth_mm = 2000
        sensor_offset_mm = 100

        [[device]]
        id = "868508064807350"
        codec = "milesight:em400-udl"
        kind = "waste_bin"
        """
    static let config = """
        [[mqtt.subscription]]
        topic = "application/+/device/+/event/+"
        envelope = "chirpstack"

        [[mqtt.subscription]]
        topic = "nbiot/+"
        envelope = "nbiot"

        [aggregation]
        max_clock_skew = "1m"

        [aggregation.windows]
        damp = "1h"
        waste_bin = "1h"
        """

    static func pipeline() throws -> UplinkPipeline {
        UplinkPipeline(config: try GatewayConfig.load(path: ConfigDirectory(config: config, devices: devices).configPath))
    }

    static func chirpStack(_ device: String, fPort: Int, hex: String, time: String = "2026-11-20T10:15:00Z", type: String = "up") -> RawUplink {
        let data = Data(Hex.decode(hex)!).base64EncodedString()
        let json = #"{"time":"\#(time)","deviceInfo":{"devEui":"\#(device)"},"fCnt":1,"fPort":\#(fPort),"data":"\#(data)"}"#
        return RawUplink(id: 1, receivedAt: RFC3339.parseMillis("2026-11-20T10:15:02Z")!, topic: "application/a/device/\(device)/event/\(type)", message: Array(json.utf8))
    }

    func readings(_ outcome: ProcessedOutcome) -> [String] {
        guard case let .decoded(_, rows) = outcome else { return ["not decoded: \(outcome)"] }
        return rows.map { "\($0.reading.metric.name)\($0.reading.channel.map { ".\($0)" } ?? "")=\($0.reading.value)" }
    }

    @Test func dampFrameGetsDewPointAndMouldRisk() throws {
        let (outcome, diagnostics) = try Self.pipeline().process(Self.chirpStack("a840410000000401", fPort: 2, hex: "CBF60B0D0376010ADD7FFF"))
        #expect(readings(outcome) == ["battery_voltage=3062", "temperature=2829", "relative_humidity=8860", "temperature.1=2781", "dew_point=2622", "mould_risk=1"])  // float Magnus: 26.2245 °C
        guard case let .decoded(_, rows) = outcome else { return }
        // Network time (within the skew) is the reading time; windows are clock-aligned hours.
        #expect(rows.allSatisfy { $0.reading.time == RFC3339.parseMillis("2026-11-20T10:15:00Z") && $0.windowStart == RFC3339.parseMillis("2026-11-20T10:00:00Z") })
        #expect(diagnostics.clockSkewed == false)
    }

    @Test func binFillLevelFromTheRegistry() throws {
        // Distance 530 mm from a sensor 100 mm above the rim of a 2000 mm bin: 430 mm of 2000 empty, 78.50 % full.
        let (outcome, _) = try Self.pipeline().process(Self.chirpStack("a840410000000201", fPort: 85, hex: "01755C03821202"))
        #expect(readings(outcome) == ["battery_level=92", "distance=530", "fill_level=7850"])
    }

    @Test func skewedNetworkTimeFallsBackToReceiveTime() throws {
        let (outcome, diagnostics) = try Self.pipeline().process(Self.chirpStack("a840410000000401", fPort: 2, hex: "CBF60B0D0376010ADD7FFF", time: "2020-01-01T00:00:00Z"))
        guard case let .decoded(_, rows) = outcome else { Issue.record("not decoded"); return }
        #expect(diagnostics.clockSkewed)
        #expect(rows.first?.reading.time == RFC3339.parseMillis("2026-11-20T10:15:02Z"))
    }

    @Test func nbiotFrameByIMEI() throws {
        let frame = "020001005F00000001303130313031313036373439443139303534363930303331383638353038303634383037333530343630303433323234323133313130383938363034313231303232373030363238353709000E01756403670B0104823B01050001"
        let raw = RawUplink(id: 2, receivedAt: 1_000_000, topic: "nbiot/gw", message: Array(frame.utf8))
        let (outcome, _) = try Self.pipeline().process(raw)
        #expect(readings(outcome) == ["battery_level=100", "temperature=2670", "distance=315"])
    }

    @Test func everyBadCaseHasAReason() throws {
        let pipeline = try Self.pipeline()
        func category(_ raw: RawUplink) -> String {
            if case let .quarantined(_, _, reason, _) = pipeline.process(raw).0 { return reason.rawValue }
            return "not quarantined"
        }
        #expect(category(Self.chirpStack("ffffffffffffffff", fPort: 1, hex: "01")) == "unknown_device")
        #expect(category(Self.chirpStack("a840410000000401", fPort: 3, hex: "CBF6")) == "unsupported_port")
        // 0x7530 = 300.00 °C from the SHT sensor: outside the physical range.
        #expect(category(Self.chirpStack("a840410000000401", fPort: 2, hex: "CBF675300376010ADD7FFF")) == "implausible")
        #expect(category(RawUplink(id: 3, receivedAt: 0, topic: "somewhere/else", message: [1])) == "no_route")
        #expect(category(RawUplink(id: 4, receivedAt: 0, topic: "application/a/device/x/event/up", message: Array("{".utf8))) == "malformed_json")
        // fPort 0 is MAC-only: ignored, not quarantined.
        if case .ignored = pipeline.process(Self.chirpStack("a840410000000401", fPort: 0, hex: "")).0 {} else { Issue.record("fPort 0 not ignored") }
    }

    @Test func statusBatteryIsRecordedForKnownDevices() throws {
        let json = #"{"deviceInfo":{"devEui":"a840410000000401"},"batteryLevel":88.3}"#
        let raw = RawUplink(id: 5, receivedAt: 1_000_000, topic: "application/a/device/a840410000000401/event/status", message: Array(json.utf8))
        guard case let .event(type, _, rows, _) = try Self.pipeline().process(raw).0 else { Issue.record("not an event"); return }
        #expect(type == "status" && rows.map { $0.reading.value } == [88] && rows.first?.reading.metric == .batteryLevel)
    }
}
