import Benchmark
import Codecs
import Foundation
import Readings
import Uplink

/// Per codec family: one real payload (from the reference vectors) decoded
/// per iteration. Envelopes: a ChirpStack v4 and a TTS v3 uplink document.
/// The whole pure path: `UplinkPipeline.process`, as the daemon runs it.
let payloads: [(String, String, Int?, [UInt8])] = [
    ("elsys", "elsys:ers-co2", 1, hex("0100E202290400270506060308")),
    ("milesight", "milesight:am319", 85, hex("0367340104686505000106CB02077DA803087D2500097366270A7D04000B7D20000C7D3000")),
    ("cayenne-lpp", "cayenne-lpp", 1, hex("03670110056700FF")),
    ("decentlab-dl-pm", "decentlab:dl-pm", 1, hex("021B50000F0C25002500270027002701F50107012C012D012D012D67BD618DBD10")),
    ("dragino-lht65", "dragino:lht65", 2, hex("CBF60B0D0376010ADD7FFF")),
    ("dragino-ldds75", "dragino:ldds75", 2, hex("0CF608D000012C01")),
    ("bosch-tps110", "bosch:tps110", 1, hex("01")),
    ("nwave-nps405", "nwave:nps405", 2, hex("0171F8")),
]

let chirpStackUp = Array(#"{"deduplicationId":"6f1a0c3e-35c4-4a0e-9b5e-8d2f0c1a2b3c","time":"2026-11-20T10:15:00.123456789+00:00","deviceInfo":{"tenantId":"52f14cd4-c6f1-4fbd-8f87-4025e1d49242","tenantName":"City","applicationId":"b3d1c2a4-1f0e-4c77-9a55-5c9e2f7d8a10","applicationName":"sensors","deviceProfileId":"0b7b4b1a-3c8e-4a55-b0f4-a84041000001","deviceProfileName":"Elsys ERS CO2","deviceName":"aq-plaza-mayor","devEui":"a840410000000101","deviceClassEnabled":"CLASS_A","tags":{}},"devAddr":"00000101","adr":true,"dr":5,"fCnt":4711,"fPort":1,"confirmed":false,"data":"AQDiAikEACcFBgYDCA==","rxInfo":[{"gatewayId":"0016c001ff10a235","uplinkId":4711,"nsTime":"2026-11-20T10:15:00.123456789+00:00","rssi":-87,"snr":7.5,"channel":2,"location":{},"context":"EFwFRA==","metadata":{"region_config_id":"eu868","region_common_name":"EU868"},"crcStatus":"CRC_OK"}],"txInfo":{"frequency":868300000,"modulation":{"lora":{"bandwidth":125000,"spreadingFactor":7,"codeRate":"CR_4_5"}}},"regionConfigId":"eu868"}"#.utf8)

let ttsUp = Array(#"{"end_device_ids":{"device_id":"eui-a840410000000101","application_ids":{"application_id":"sensors"},"dev_eui":"A840410000000101","join_eui":"0000000000000000","dev_addr":"260B1234"},"correlation_ids":["as:up:01G"],"received_at":"2026-11-20T10:15:00.123456789Z","uplink_message":{"session_key_id":"AXA=","f_port":1,"f_cnt":4711,"frm_payload":"AQDiAikEACcFBgYDCA==","rx_metadata":[{"gateway_ids":{"gateway_id":"gw-1","eui":"0016C001FF10A235"},"time":"2026-11-20T10:15:00.1Z","timestamp":2040934975,"rssi":-87,"channel_rssi":-87,"snr":7.5,"uplink_token":"ChIKEAoOZ3c=","channel_index":2}],"settings":{"data_rate":{"lora":{"bandwidth":125000,"spreading_factor":7,"coding_rate":"4/5"}},"frequency":"868300000","timestamp":2040934975},"received_at":"2026-11-20T10:15:00.1Z","consumed_airtime":"0.056576s"}}"#.utf8)

func hex(_ text: String) -> [UInt8] { Hex.decode(text)! }

let benchmarks: @Sendable () -> Void = {
    // Each sample runs 1000 operations (scalingFactor .kilo): times are per
    // operation; "Malloc (total)" is per sample of 1000, so divide by 1000 and
    // subtract the empty-loop baseline to get allocations per payload.
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 100_000)

    Benchmark("baseline (empty loop)") { benchmark in
        for index in benchmark.scaledIterations {
            blackHole(index)
        }
    }

    for (name, codecID, fPort, payload) in payloads {
        let codec = CodecCatalog.builtIn.codec(codecID)!
        // A fresh result per payload: the one allocation is its values array.
        Benchmark("decode \(name)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try? codec.decode(payload, fPort: fPort))
            }
        }
        // Into a caller-owned result that is reused, as the gateway's batch loop can.
        Benchmark("decode \(name) (reused buffer)") { benchmark in
            var result = DecodeResult.withCapacity(32, notes: 8)
            for _ in benchmark.scaledIterations {
                result.removeAll()
                try? codec.decode(payload, fPort: fPort, into: &result)
                blackHole(result.values.count)
            }
        }
    }

    let chirpStack = ChirpStackEnvelope()
    Benchmark("envelope chirpstack-v4 up") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try? chirpStack.parse(topic: "application/b3d1c2a4/device/a840410000000101/event/up", message: chirpStackUp))
        }
    }
    let tts = TTSEnvelope()
    Benchmark("envelope tts-v3 up") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try? tts.parse(topic: "v3/sensors@ttn/devices/eui-a840410000000101/up", message: ttsUp))
        }
    }
    // The daemon's entry point: route, envelope, registry, codec, derived
    // values, plausibility, device-time check and window for one uplink.
    let pipeline = UplinkPipeline(
        subscriptions: Subscription.defaults,
        registry: DeviceRegistry(devices: [Device(id: "a840410000000101", codecID: "elsys:ers-co2", kind: .airQuality, zone: "centre")]),
        catalog: .builtIn, windows: [.airQuality: 900_000], maxClockSkewMillis: 300_000)
    let raw = RawUplink(id: 1, receivedAt: 1_795_169_700_500, topic: "application/b3d1c2a4/device/a840410000000101/event/up", message: chirpStackUp)
    Benchmark("uplink pipeline chirpstack-v4 up") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(pipeline.process(raw))
        }
    }
}
