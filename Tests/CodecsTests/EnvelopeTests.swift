import Codecs
import Foundation
import Readings
import Testing

@Suite struct EnvelopeTests {
    static func fixture(_ path: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/envelopes/\(path)", withExtension: nil))
        return Array(try Data(contentsOf: url))
    }

    @Test func chirpStackDocsExample() throws {
        let event = try ChirpStackEnvelope().parse(topic: "application/x/device/0101010101010101/event/up",
                                                   message: Self.fixture("chirpstack_v4/up_docs_example.json"))
        guard case let .uplink(uplink) = event else { Issue.record("not an uplink"); return }
        #expect(uplink.device == "0101010101010101")
        #expect(uplink.fPort == 1)
        #expect(uplink.fCnt == nil)  // the docs example has none
        #expect(uplink.payload == [0xAA])
        #expect(uplink.networkTime == 1_658_136_855_775)
    }

    @Test func chirpStackRealCaptures() throws {
        let twoGateways = try ChirpStackEnvelope().parse(topic: "application/a/device/ffffff200000b703/event/up",
                                                         message: Self.fixture("chirpstack_v4/up_real_capture_cn470_2gateways_vendor_rawData.json"))
        guard case let .uplink(uplink) = twoGateways else { Issue.record("not an uplink"); return }
        #expect(uplink.fCnt == 18230 && uplink.fPort == 210 && uplink.gatewayCount == 2)
        let gps = try ChirpStackEnvelope().parse(topic: "application/a/device/ac1f09fffe1acbd5/event/up",
                                                 message: Self.fixture("chirpstack_v4/up_real_capture_eu868_gps_gateway.KEYS_REORDERED_BY_POSTGRES_JSONB.json"))
        guard case let .uplink(second) = gps else { Issue.record("not an uplink"); return }
        #expect(second.device == "ac1f09fffe1acbd5" && second.fCnt == 1 && second.fPort == 2)
    }

    @Test func chirpStackOtherEventsAreRecognised() throws {
        for type in ["join", "status", "log", "ack", "txack", "location"] {
            let event = try ChirpStackEnvelope().parse(topic: "application/a/device/0101010101010101/event/\(type)",
                                                       message: Self.fixture("chirpstack_v4/\(type)_docs_example.json"))
            guard case let .event(parsedType, _, values) = event else { Issue.record("\(type) not recognised"); continue }
            #expect(parsedType == type)
            // The status docs example reports batteryLevel 88.3: recorded as 88 %.
            if type == "status" { #expect(values == [DecodedValue(metric: .batteryLevel, value: 88)], "\(values)") }
            else { #expect(values.isEmpty) }
        }
    }

    @Test func statusBatteryLevelRoundsHalfAwayFromZero() throws {
        let topic = "application/a/device/0101010101010101/event/status"
        for (text, expected) in [("88.5", Int64(89)), ("88.49", 88), ("100", 100), ("0.4", 0)] {
            let event = try ChirpStackEnvelope().parse(topic: topic, message: Array(#"{"deviceInfo":{"devEui":"0101010101010101"},"batteryLevel":\#(text)}"#.utf8))
            guard case let .event(_, _, values) = event else { Issue.record("not an event"); continue }
            #expect(values.first?.value == expected, "\(text)")
        }
        let unavailable = try ChirpStackEnvelope().parse(topic: topic, message: Array(#"{"batteryLevel":0,"batteryLevelUnavailable":true}"#.utf8))
        guard case let .event(_, _, none) = unavailable else { Issue.record("not an event"); return }
        #expect(none.isEmpty)
    }

    @Test func chirpStackBadInput() {
        let parser = ChirpStackEnvelope()
        let topic = "application/a/device/0101010101010101/event/up"
        #expect(throws: EnvelopeError.self) { try parser.parse(topic: topic, message: Array("{not json".utf8)) }
        #expect(throws: EnvelopeError.missingField("deviceInfo.devEui")) { try parser.parse(topic: "up", message: Array("{}".utf8)) }
        #expect(throws: EnvelopeError.self) {
            try parser.parse(topic: topic, message: Array(#"{"deviceInfo":{"devEui":"0101010101010101"},"data":"!!!"}"#.utf8))
        }
        #expect(throws: EnvelopeError.self) {
            try parser.parse(topic: "application/a/device/0202020202020202/event/up", message: Array(#"{"deviceInfo":{"devEui":"0101010101010101"}}"#.utf8))
        }
        #expect(throws: EnvelopeError.self) {
            try parser.parse(topic: topic, message: Array(#"{"deviceInfo":{"devEui":"0101010101010101"},"fCnt":-1}"#.utf8))
        }
        // Protobuf (json=false) bytes are not JSON.
        #expect(throws: EnvelopeError.self) { try parser.parse(topic: topic, message: [0x0A, 0x24, 0x00, 0xFF]) }
    }

    @Test func ttsExamples() throws {
        let docs = try TTSEnvelope().parse(topic: "v3/app@ttn/devices/dev1/up", message: Self.fixture("tts_v3/up_mqtt_docs_example.json"))
        guard case let .uplink(uplink) = docs else { Issue.record("not an uplink"); return }
        #expect(uplink.device == "4200000000000000")
        #expect(uplink.fCnt == 0)  // absent means zero in TTS
        #expect(uplink.fPort == 15)
        let formatter = try TTSEnvelope().parse(topic: "v3/app/devices/foo-device/up", message: Self.fixture("tts_v3/up_formatter_unit_test.json"))
        guard case let .uplink(second) = formatter else { Issue.record("not an uplink"); return }
        #expect(second.fCnt == 42 && second.payload == [1, 2, 3])
    }

    @Test func ttsTopicNamesTheDeviceAndTheEventType() throws {
        let ids = Array(#"{"end_device_ids":{"device_id":"dev1","dev_eui":"70B3D57ED0000001"}}"#.utf8)
        let service = try TTSEnvelope().parse(topic: "v3/app@ttn/devices/dev1/service/data", message: ids)
        guard case let .event(type, device, _) = service else { Issue.record("not an event: \(service)"); return }
        #expect(type == "service/data" && device == "70b3d57ed0000001")
        #expect(throws: EnvelopeError.self) { try TTSEnvelope().parse(topic: "v3/app@ttn/devices/dev2/join", message: ids) }
        // No event level: an uplink is expected, and this message has none.
        #expect(throws: EnvelopeError.missingField("uplink_message")) { try TTSEnvelope().parse(topic: "v3/app@ttn/devices/dev1", message: ids) }
    }

    @Test func ttsInvalidDocsExampleIsAClearReason() throws {
        let message = try Self.fixture("tts_v3/up_data_formats_docs_example.VERBATIM_INVALID_JSON.txt")
        do {
            _ = try TTSEnvelope().parse(topic: "v3/app@ttn/devices/dev1/up", message: message)
            Issue.record("invalid JSON parsed")
        } catch {
            #expect(error.category == .malformedJSON)
        }
    }

    @Test func randomMessagesNeverTrap() {
        var generator = SystemRandomNumberGenerator()
        let pieces = [#"{"deviceInfo":{"devEui":"#, #""0101010101010101"}"#, #","fCnt":"#, "4294967296", "-1", #","data":"#, #""AQID""#, "}", "[", "null", ","]
        for _ in 0..<2000 {
            let text = (0..<Int.random(in: 0...8, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            _ = try? ChirpStackEnvelope().parse(topic: "application/a/device/0101010101010101/event/up", message: Array(text.utf8))
            _ = try? TTSEnvelope().parse(topic: "v3/a/devices/d/up", message: Array(text.utf8))
        }
    }
}

@Suite struct NBIoTEnvelopeTests {
    /// Vector 32 (published): EM400-UDL NB-IoT frame, Milesight-IoT/SensorDecoders em400-udl README.
    static let em400Frame = "020001005F00000001303130313031313036373439443139303534363930303331383638353038303634383037333530343630303433323234323133313130383938363034313231303232373030363238353709000E01756403670B0104823B01050001"

    @Test func milesightFrameRawAndHex() throws {
        let bytes = VendorVectorTests.bytes(Self.em400Frame)
        for message in [bytes, Array(Self.em400Frame.utf8), Array((Self.em400Frame.lowercased() + "\n").utf8)] {
            let event = try NBIoTEnvelope().parse(topic: "milesight/uplink", message: message)
            guard case let .uplink(uplink) = event else { Issue.record("not an uplink"); return }
            #expect(uplink.device == "868508064807350")
            #expect(uplink.fCnt == 0)
            let result = try MilesightCodec(model: .em400udl).decode(uplink.payload, fPort: nil)
            #expect(result.values.map { "\($0.metric.name)=\($0.value)" } == ["battery_level=100", "temperature=2670", "distance=315"])
            #expect(result.noteTexts.contains("position tilt"))
        }
        let frame = try MilesightNBIoTFrame.parse(bytes)
        #expect(frame.serialNumber == "6749D19054690031" && frame.imsi == "460043224213110" && frame.iccid == "89860412102270062857" && frame.signalQuality == 9)
    }

    @Test func otherFramesNameTheDeviceByTopic() throws {
        let event = try NBIoTEnvelope().parse(topic: "nbiot/862091040000001", message: [0x01, 0x75, 0x50])
        guard case let .uplink(uplink) = event else { Issue.record("not an uplink"); return }
        #expect(uplink.device == "862091040000001" && uplink.payload == [0x01, 0x75, 0x50])
    }

    @Test func badFramesAreReasons() {
        var truncated = VendorVectorTests.bytes(Self.em400Frame)
        truncated.removeLast(5)
        #expect(throws: EnvelopeError.self) { try NBIoTEnvelope().parse(topic: "t", message: truncated) }
        #expect(throws: EnvelopeError.self) { try NBIoTEnvelope().parse(topic: "t", message: []) }
        #expect(throws: EnvelopeError.self) { try NBIoTEnvelope().parse(topic: "bad topic!", message: [1, 2]) }
    }
}

@Suite struct JSONScannerTests {
    static let topic = "application/a/device/0101010101010101/event/up"

    static func parse(_ text: String) throws(EnvelopeError) -> EnvelopeEvent {
        try ChirpStackEnvelope().parse(topic: topic, message: Array(text.utf8))
    }

    @Test func escapesAndUnknownFieldsAreHandled() throws {
        let event = try Self.parse(#"{"extra":{"a":[1,2.5e3,-0.1,true,false,null,"x\"\\\u00e9"]},"deviceInfo":{"devEui":"0101010101010101","deviceProfileName":"Caf\u00e9 \ud83d\ude00"},"fCnt":7,"fPort":2,"data":"AQID"}"#)
        guard case let .uplink(uplink) = event else { Issue.record("not an uplink"); return }
        #expect(uplink.deviceProfileName == "Café 😀" && uplink.fCnt == 7 && uplink.fPort == 2 && uplink.payload == [1, 2, 3])
    }

    @Test(arguments: [
        (#"{"deviceInfo":{"devEui":"0101010101010101"}} x"#, "malformed_json"),
        (#"{"deviceInfo":{"devEui":"0101010101010101"},}"#, "malformed_json"),
        (#"{"deviceInfo":{"devEui":"0101010101010101"},"fCnt":"7"}"#, "invalid_envelope"),
        (#"{"deviceInfo":{"devEui":"0101010101010101"},"fCnt":4294967296}"#, "invalid_envelope"),
        (#"{"deviceInfo":{"devEui":"0101010101010101"},"fCnt":99999999999999999999}"#, "invalid_envelope"),
        (#"{"deviceInfo":{"devEui":"0101010101010101"},"fPort":300}"#, "invalid_envelope"),
        (#"{"deviceInfo":{"devEui":"0101010101010101"},"fCnt":1.5}"#, "invalid_envelope"),
        (#"{"deviceInfo":{"devEui":"0101010101010101"},"data":"A"}"#, "invalid_envelope"),
        (#"{"deviceInfo":"x"}"#, "invalid_envelope"),
        (#"{"deviceInfo":{"devEui":"0101010101010101"},"rxInfo":[1]}"#, "invalid_envelope"),
        (#"{"a":"\u12"}"#, "malformed_json"),
        (#"{"a":01}"#, "malformed_json"),
        // The string scan: a raw control character, an unterminated string, an escape cut off.
        ("{\"a\":\"x\ny\"}", "malformed_json"),
        ("{\"a\":\"x\u{1F}\"}", "malformed_json"),
        (#"{"a":"abc"#, "malformed_json"),
        (#"{"a":"abc\"#, "malformed_json"),
        (#"{"a":"\u00e"#, "malformed_json"),
        ("[]", "malformed_json"),
        ("", "malformed_json"),
    ])
    func badDocumentsAreClearReasons(text: String, category: String) {
        do {
            _ = try Self.parse(text)
            Issue.record("parsed: \(text)")
        } catch {
            #expect(error.category.rawValue == category, "\(text): \(error)")
        }
    }

    /// The string scan looks at eight bytes at a time: a quote, a backslash
    /// or a control character must be found in every lane of a word, and
    /// bytes that differ from them only in the top bit (`¢` is C2 A2, `Ü`
    /// is C3 9C) must not end or break a string.
    @Test func theStringScanFindsEverySpecialByteAtEveryOffset() throws {
        func message(profile: String) -> [UInt8] {
            Array(#"{"deviceInfo":{"devEui":"0101010101010101","deviceProfileName":""#.utf8) + Array(profile.utf8) + Array(#""}}"#.utf8)
        }
        for length in 0...40 {
            let plain = String(repeating: "¢Üab", count: length / 4 + 1).prefix(length)
            guard case let .uplink(uplink) = try Self.parse(String(decoding: message(profile: String(plain)), as: UTF8.self)) else {
                Issue.record("not an uplink"); return
            }
            #expect(uplink.deviceProfileName == String(plain))
            for offset in 0..<length {
                let head = String(repeating: "x", count: offset), tail = String(repeating: "y", count: length - offset - 1)
                let escaped = try Self.parse(String(decoding: message(profile: head + #"\"\\"# + tail), as: UTF8.self))
                guard case let .uplink(uplink) = escaped else { Issue.record("not an uplink"); return }
                #expect(uplink.deviceProfileName == head + #""\"# + tail, "length \(length), offset \(offset)")
                for control: UInt8 in [0x00, 0x01, 0x0A, 0x1F] {
                    var bytes = message(profile: head + "z" + tail)
                    let at = bytes.firstIndex(of: UInt8(ascii: "z"))!
                    bytes[at] = control
                    #expect(throws: EnvelopeError.self, "control \(control) at offset \(offset) of \(length)") {
                        try ChirpStackEnvelope().parse(topic: Self.topic, message: bytes)
                    }
                }
                var cut = message(profile: head + "z" + tail)
                cut.removeSubrange(cut.firstIndex(of: UInt8(ascii: "z"))!...)
                #expect(throws: EnvelopeError.self, "string cut at offset \(offset) of \(length)") {
                    try ChirpStackEnvelope().parse(topic: Self.topic, message: cut)
                }
            }
        }
    }

    /// A DevEUI in upper case, escaped, or with a `time` written with
    /// escapes, reads as it did through `String`: lowercased, resolved.
    @Test func devEUIsAndTimesReadFromTheMessagesBytes() throws {
        let event = try Self.parse(#"{"deviceInfo":{"devEui":"01010101010101\u0030\u0031"},"time":"2026-12-01T20:00:00.5\u002b00:00","data":"AQ\/D"}"#)
        guard case let .uplink(uplink) = event else { Issue.record("not an uplink"); return }
        #expect(uplink.device == "0101010101010101" && uplink.networkTime == 1_796_155_200_500 && uplink.payload == [1, 15, 195])
        let upper = try ChirpStackEnvelope().parse(topic: "application/a/device/A1B2C3D4E5F60708/event/up",
                                                   message: Array(#"{"deviceInfo":{"devEui":"A1b2C3d4E5f60708"}}"#.utf8))
        guard case let .uplink(uplink) = upper else { Issue.record("not an uplink"); return }
        #expect(uplink.device == "a1b2c3d4e5f60708")
        // A status event's time is not read: a bad one is no reason to refuse it.
        let status = try ChirpStackEnvelope().parse(topic: "application/a/device/0101010101010101/event/status",
                                                    message: Array(#"{"deviceInfo":{"devEui":"0101010101010101"},"time":"soon","batteryLevel":55.5}"#.utf8))
        guard case let .event(type, device, values) = status else { Issue.record("not an event"); return }
        #expect(type == "status" && device == "0101010101010101" && values.map(\.value) == [56])
        #expect(throws: EnvelopeError.self) { try Self.parse(#"{"deviceInfo":{"devEui":"0101010101010101"},"time":"soon"}"#) }
    }

    @Test func deepNestingIsRefusedNotRecursedInto() {
        let bomb = "{\"a\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        #expect(throws: EnvelopeError.self) { try Self.parse(bomb) }
    }
}
