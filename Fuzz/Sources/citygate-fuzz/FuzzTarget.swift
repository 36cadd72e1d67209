import Codecs
import Readings

/// One fuzz input: byte 0 picks the stage, byte 1 the fPort, the rest is the
/// message. Every codec in the catalog and every envelope parser is reached.
/// A crash, a trap (overflow, out-of-range index) or a hang is a finding;
/// errors thrown as values are the expected outcome for bad input.
let codecs: [any PayloadCodec] = CodecCatalog.builtIn.ids.compactMap { CodecCatalog.builtIn.codec($0) }
let envelopes: [any EnvelopeParser] = EnvelopeKind.allCases.map(\.parser)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let selector = Int(bytes[0])
    let fPort: Int? = bytes[1] == 0xFF ? nil : Int(bytes[1])
    let message = Array(bytes[2...])
    if selector < 0x80 {
        let codec = codecs[selector % codecs.count]
        if let result = try? codec.decode(message, fPort: fPort) {
            // Render what a hub would see, so formatting is fuzzed too.
            for value in result.values { _ = value.decimalText }
            _ = DerivedValues.derive(result.values, context: .init(kind: .damp))
            _ = DerivedValues.derive(result.values, context: .init(kind: .wasteBin, binDepthMillimetres: 1200, sensorOffsetMillimetres: 50))
        }
    } else {
        let parser = envelopes[selector % envelopes.count]
        let topics = ["application/a/device/0101010101010101/event/up", "v3/app@ttn/devices/dev/up", "nbiot/862091040000001"]
        if case let .uplink(uplink)? = try? parser.parse(topic: topics[selector % topics.count], message: message) {
            for codec in codecs { _ = try? codec.decode(uplink.payload, fPort: uplink.fPort) }
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
