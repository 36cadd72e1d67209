import Codecs
import Foundation
import Readings
import Testing
import Uplink

/// The Uplink module on its own, without a config file: the stages the
/// daemon, `citygate decode` and the fuzzer share.
@Suite struct UplinkStageTests {
    static let damp = Device(id: "a840410000000401", codecID: "dragino:lht65", kind: .damp)

    static func pipeline(registry: DeviceRegistry = DeviceRegistry(devices: [damp])) -> UplinkPipeline {
        UplinkPipeline(subscriptions: Subscription.defaults, registry: registry, catalog: .builtIn,
                       windows: [.damp: 3_600_000], maxClockSkewMillis: 60_000)
    }

    static func chirpStack(_ device: String, hex: String, time: String) -> RawUplink {
        let data = Data(Hex.decode(hex)!).base64EncodedString()
        let json = #"{"time":"\#(time)","deviceInfo":{"devEui":"\#(device)"},"fCnt":7,"fPort":2,"data":"\#(data)"}"#
        return RawUplink(id: 3, receivedAt: RFC3339.parseMillis("2026-11-20T10:15:02Z")!, topic: "application/a/device/\(device)/event/up",
                         message: Array(json.utf8))
    }

    @Test func thePayloadStageDecodesDerivesAndChecks() {
        let pipeline = Self.pipeline()
        guard case let .success(decoded) = pipeline.decodePayload(Hex.decode("CBF60B0D0376010ADD7FFF")!, fPort: 2, device: Self.damp) else {
            Issue.record("not decoded")
            return
        }
        #expect(decoded.values.map(\.metric.name).suffix(2) == ["dew_point", "mould_risk"])
        // 150.01 °C is past temperature's plausible range: the uplink is rejected with that reason.
        let hot = Device(id: "x", codecID: "elsys", kind: .generic)
        guard case let .failure(rejection) = pipeline.decodePayload([0x01, 0x05, 0xDD], fPort: 5, device: hot) else {
            Issue.record("an implausible value must be rejected")
            return
        }
        #expect(rejection.reason == .implausible && rejection.detail.contains("temperature = 150.10 °C"))
        #expect(pipeline.decodePayload([1], fPort: 1, device: Device(id: "x", codecID: "nope", kind: .generic)) == .failure(.init(reason: .unknownCodec, detail: "codec 'nope' is not available")))
    }

    @Test func theWholePathWindowsByNetworkTimeAndFingerprintsNothingCounted() {
        let (outcome, diagnostics) = Self.pipeline().process(Self.chirpStack(Self.damp.id, hex: "CBF60B0D0376010ADD7FFF", time: "2026-11-20T10:15:00Z"))
        guard case let .decoded(facts, rows) = outcome else { Issue.record("not decoded: \(outcome)"); return }
        #expect(facts.fCnt == 7 && facts.payloadFingerprint == nil && facts.ruleKind == nil)
        #expect(rows.allSatisfy { $0.windowLength == 3_600_000 && $0.windowStart == RFC3339.parseMillis("2026-11-20T10:00:00Z") })
        #expect(diagnostics.kind == .damp && !diagnostics.clockSkewed)
    }

    @Test func aCodecRuleDeviceCarriesItsKindAndGroupOnTheFacts() {
        let rule = CodecRule(topic: TopicFilter("application/+/device/+/event/+"), codecID: "dragino:lht65", kind: .damp, zone: "north")
        let (outcome, _) = Self.pipeline(registry: DeviceRegistry(devices: [], rules: [rule]))
            .process(Self.chirpStack("a840410000000999", hex: "CBF60B0D0376010ADD7FFF", time: "2026-11-20T10:15:00Z"))
        guard case let .decoded(facts, _) = outcome else { Issue.record("not decoded: \(outcome)"); return }
        #expect(facts.ruleKind == .damp && facts.ruleZone == "zone:north")
    }

    @Test func deviceTimeAtTheEdgesOfInt64DoesNotTrap() {
        #expect(DeviceTime.windowTime(network: .min, received: 1_000, maxSkewMillis: 60_000) == (1_000, true))
        #expect(DeviceTime.windowTime(network: .max, received: -1_000, maxSkewMillis: 60_000) == (-1_000, true))
        #expect(DeviceTime.windowTime(network: 1_500, received: 1_000, maxSkewMillis: 60_000) == (1_500, false))
        #expect(DeviceTime.windowTime(network: nil, received: 1_000, maxSkewMillis: 60_000) == (1_000, false))
    }
}

/// Device clocks in history records pass the same check as network time.
@Suite struct DeviceClockTests {
    static let sensor = Device(id: "24e124136b502217", codecID: "milesight:em300-th", kind: .damp)

    /// An EM300-TH history record: 20 CE, time (u32 LE), 26.5 °C, 50 % RH, padding.
    static func history(at seconds: UInt32) -> String {
        let t = seconds.littleEndian
        let time = [UInt8(t & 0xFF), UInt8(t >> 8 & 0xFF), UInt8(t >> 16 & 0xFF), UInt8(t >> 24)]
        return "20CE" + time.map { Hex.digits(UInt64($0), count: 2) }.joined() + "0901" + "64" + "00"
    }

    func outcome(_ hex: String) -> (rows: [ReadingRow], setAside: Int) {
        let pipeline = UplinkPipeline(subscriptions: Subscription.defaults, registry: DeviceRegistry(devices: [Self.sensor]), catalog: .builtIn,
                                      windows: [.damp: 3_600_000], maxClockSkewMillis: 300_000, maxBackfillMillis: 7 * 86_400_000)
        let data = Data(Hex.decode(hex)!).base64EncodedString()
        let json = #"{"deviceInfo":{"devEui":"\#(Self.sensor.id)"},"fCnt":9,"fPort":85,"data":"\#(data)"}"#
        let raw = RawUplink(id: 1, receivedAt: 1_795_000_000_000, topic: "application/a/device/\(Self.sensor.id)/event/up", message: Array(json.utf8))
        let (result, diagnostics) = pipeline.process(raw)
        guard case let .decoded(_, rows) = result else { Issue.record("not decoded: \(result)"); return ([], 0) }
        return (rows, diagnostics.deviceTimesSetAside)
    }

    @Test func aHistoryRecordFromABelievableClockIsKept() {
        let dayBefore = outcome(Self.history(at: 1_795_000_000 - 86_400))
        #expect(dayBefore.setAside == 0 && dayBefore.rows.map(\.reading.metric.name).contains("temperature"))
        #expect(dayBefore.rows.allSatisfy { $0.reading.time == (1_795_000_000 - 86_400) * 1000 })
    }

    /// 2106, 1970, eight days old, an hour ahead.
    static let unbelievable: [UInt32] = [UInt32.max, 0, 1_795_000_000 - 8 * 86_400, 1_795_000_000 + 3_600]

    @Test(arguments: unbelievable)
    func aHistoryRecordFromAnUnbelievableClockIsSetAside(seconds: UInt32) {
        let result = outcome(Self.history(at: seconds))
        #expect(result.rows.isEmpty, "\(result.rows.map { RFC3339.format($0.reading.time) })")
        #expect(result.setAside >= 2)
    }

    @Test func theCheckNeverTraps() {
        #expect(!DeviceTime.isBelievable(.max, received: .min, maxSkewMillis: 1, maxBackfillMillis: 1))
        #expect(!DeviceTime.isBelievable(.min, received: .max, maxSkewMillis: 1, maxBackfillMillis: 1))
        #expect(DeviceTime.isBelievable(1_000, received: 1_000, maxSkewMillis: 0, maxBackfillMillis: 0))
    }
}
