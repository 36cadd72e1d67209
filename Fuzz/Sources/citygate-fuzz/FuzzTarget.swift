import Codecs
import Readings
import TOML
import Uplink

/// One fuzz input: byte 0 picks the stage and the codec, byte 1 the fPort,
/// the rest is the message (bytes 0xF0 and up: the rest is a TOML file for
/// the config parser). Both go through the daemon's own entry points
/// (`UplinkPipeline`): the payload stage (codec, derived values,
/// plausibility) and the whole pipeline (route, envelope, registry, codec,
/// device-time check, window), then the frame-dedup rule on its outcome.
/// A crash, a trap (overflow, out-of-range index) or a hang is a finding;
/// errors and quarantine outcomes are the expected result of bad input.
let catalog = CodecCatalog.builtIn
let codecIDs = catalog.ids
let kinds = SensorKind.allCases
let subscriptions = [
    Subscription(filter: TopicFilter("application/+/device/+/event/+")!, envelope: .chirpstack),
    Subscription(filter: TopicFilter("v3/+/devices/+/up")!, envelope: .tts),
    Subscription(filter: TopicFilter("nbiot/+")!, envelope: .nbiot),
]
let topics = ["application/a/device/0101010101010101/event/up", "v3/app@ttn/devices/dev/up", "nbiot/862091040000001"]
let windows: [SensorKind: Int64] = [.airQuality: 900_000, .wasteBin: 3_600_000, .parking: 300_000, .damp: 3_600_000, .generic: 900_000]
/// One pipeline per codec: every device is decoded with it, as a codec rule would.
let pipelines = codecIDs.enumerated().map { index, id in
    UplinkPipeline(subscriptions: subscriptions,
                   registry: DeviceRegistry(devices: [], rules: [CodecRule(topic: TopicFilter("#"), codecID: id, kind: kinds[index % kinds.count])]),
                   catalog: catalog, windows: windows, maxClockSkewMillis: 300_000)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let selector = Int(bytes[0])
    let fPort: Int? = bytes[1] == 0xFF ? nil : Int(bytes[1])
    let message = Array(bytes[2...])
    if selector >= 0xF0 {
        _ = try? TOMLParser.parse(String(decoding: message, as: UTF8.self))
        return 0
    }
    let pipeline = pipelines[selector % pipelines.count]
    if selector < 0x80 {
        let device = Device(id: "fuzz", codecID: codecIDs[selector % codecIDs.count], kind: kinds[selector % kinds.count],
                            binDepthMillimetres: 1200, sensorOffsetMillimetres: 50)
        if case let .success(decoded) = pipeline.decodePayload(message, fPort: fPort, device: device) {
            // Render what a hub would see, so formatting is fuzzed too.
            for value in decoded.values { _ = value.decimalText }
        }
    } else {
        let raw = RawUplink(id: 7, receivedAt: 1_764_000_000_000, topic: topics[selector % topics.count], message: message)
        let (outcome, _) = pipeline.process(raw)
        if case let .decoded(facts, rows) = outcome {
            for row in rows { _ = FixedPoint.decimalString(row.reading.value, decimals: row.reading.metric.decimals) }
            if let fCnt = facts.fCnt {
                let session = DeviceSession(start: 1, lastFCnt: Int64(bytes[1]) << 24)
                let placement = FrameDeduplication.place(fCnt: fCnt, id: raw.id, session: session, policy: .init())
                _ = FrameDeduplication.noting(fCnt: fCnt, as: .decoded, in: placement, session: session, now: raw.receivedAt, policy: .init())
            }
        }
    }
    return 0
}

// SwiftPM links an executable's entry point as `<module>_main`; with
// -parse-as-library there is none, so this one hands control to libFuzzer's
// driver (the same loop libFuzzer's own main runs).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@_cdecl("citygate_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&count, &arguments, { data, size in fuzzOneInput(data, size) })
}
