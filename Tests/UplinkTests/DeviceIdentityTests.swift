import Aggregation
import Codecs
import Foundation
import Readings
import Testing
import Uplink

/// Device identity is not taken from a message's body alone (issue 15,
/// item 7): a publisher allowed to write one device's topic must not write
/// readings for another, and no device id can collide with a zone's window key.
@Suite struct DeviceIdentityTests {
    static let damp = Device(id: "a840410000000401", codecID: "dragino:lht65", kind: .damp, zone: "north")
    static let ttsDevice = Device(id: "damp-7", codecID: "dragino:lht65", kind: .damp, zone: "north")
    static let bin = Device(id: "868508064807350", codecID: "milesight:em400-udl", kind: .wasteBin)
    static let frame = "020001005F00000001303130313031313036373439443139303534363930303331383638353038303634383037333530343630303433323234323133313130383938363034313231303232373030363238353709000E01756403670B0104823B01050001"

    static func pipeline(trust: Bool = false) -> UplinkPipeline {
        let subscriptions = [
            Subscription(filter: TopicFilter("application/+/device/+/event/+")!, envelope: .chirpstack, trustFrameIdentity: trust),
            Subscription(filter: TopicFilter("v3/+/devices/+/up")!, envelope: .tts, trustFrameIdentity: trust),
            Subscription(filter: TopicFilter("nbiot/#")!, envelope: .nbiot, trustFrameIdentity: trust),
        ]
        return UplinkPipeline(subscriptions: subscriptions, registry: DeviceRegistry(devices: [damp, ttsDevice, bin]), catalog: .builtIn,
                              windows: [.damp: 3_600_000, .wasteBin: 3_600_000], maxClockSkewMillis: 60_000)
    }

    static func raw(_ topic: String, _ message: String) -> RawUplink {
        RawUplink(id: 1, receivedAt: RFC3339.parseMillis("2026-11-20T10:15:02Z")!, topic: topic, message: Array(message.utf8))
    }

    static let lht65 = Data(Hex.decode("CBF60B0D0376010ADD7FFF")!).base64EncodedString()

    static func tts(topicDevice: String, bodyDevice: String) -> RawUplink {
        raw("v3/city@ttn/devices/\(topicDevice)/up",
            #"{"end_device_ids":{"device_id":"\#(bodyDevice)"},"uplink_message":{"f_port":2,"f_cnt":3,"frm_payload":"\#(lht65)"}}"#)
    }

    func outcome(_ raw: RawUplink, trust: Bool = false) -> (reason: QuarantineReason?, device: DeviceID?) {
        switch Self.pipeline(trust: trust).process(raw).0 {
        case let .quarantined(_, _, reason, _): return (reason, nil)
        case let .decoded(facts, _): return (nil, facts.device)
        default: return (nil, nil)
        }
    }

    @Test func theTopicAndTheBodyMustNameTheSameDevice() {
        // ChirpStack: the topic's DevEUI against deviceInfo.devEui.
        let chirpStack = Self.raw("application/a/device/a840410000000999/event/up",
                                  #"{"deviceInfo":{"devEui":"a840410000000401"},"fCnt":1,"fPort":2,"data":"\#(Self.lht65)"}"#)
        #expect(outcome(chirpStack).reason == .deviceMismatch)
        // The Things Stack: the topic's device id against end_device_ids.device_id.
        #expect(outcome(Self.tts(topicDevice: "intruder-1", bodyDevice: "damp-7")).reason == .deviceMismatch)
        #expect(outcome(Self.tts(topicDevice: "damp-7", bodyDevice: "damp-7")) == (nil, "damp-7"))
        // NB-IoT: a topic that names an IMEI against the frame's IMEI; a
        // shared topic that names none takes the frame's.
        #expect(outcome(Self.raw("nbiot/868508064807351", Self.frame)).reason == .deviceMismatch)
        #expect(outcome(Self.raw("nbiot/868508064807350", Self.frame)) == (nil, "868508064807350"))
        #expect(outcome(Self.raw("nbiot/uplink", Self.frame)) == (nil, "868508064807350"))
    }

    @Test func trustFrameIdentityTakesTheBodysDevice() {
        #expect(outcome(Self.tts(topicDevice: "bridge", bodyDevice: "damp-7"), trust: true) == (nil, "damp-7"))
        #expect(outcome(Self.raw("nbiot/868508064807351", Self.frame), trust: true) == (nil, "868508064807350"))
    }

    @Test func noDeviceIdCanLookLikeAZoneOrCarryASeparator() throws {
        for hostile in ["zone:north", "station:s1", "a/b", "../x", "-x", String(repeating: "a", count: 65), "x y", "ünï"] {
            #expect(DeviceIdentity.problem(with: hostile) != nil, "\(hostile)")
            #expect(outcome(Self.tts(topicDevice: "bridge", bodyDevice: hostile), trust: true).reason == .invalidEnvelope, "\(hostile)")
        }
        // A window key is "source/series/start/length". Roll-up sources are
        // "zone:…" and "station:…", and a device id holds neither ':' nor '/',
        // so no device's key can be a zone's, nor another device's.
        for group in [ZoneRollup.group(kind: .damp, zone: "north", station: nil), ZoneRollup.group(kind: .airQuality, zone: nil, station: "s1")] {
            let source = try #require(group)
            #expect(source.contains(":") && DeviceIdentity.problem(with: source) != nil)
            #expect(WindowKey.make(source: source, metric: "temperature", channel: nil, start: 0, length: 3_600_000).hasPrefix(source + "/"))
        }
        for id in ["a840410000000401", "damp-7", "868508064807350", "eui-70b3d57ed0000001"] { #expect(DeviceIdentity.problem(with: id) == nil) }
    }
}
