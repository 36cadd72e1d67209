import FoundationEssentials

/// Faults the integration tests inject into a real gateway process, read
/// from its environment once at start (never set in production):
///
/// - `CITYGATE_FAULT_STALL_WRITER_AFTER=N`: after N messages the commit path
///   stalls holding the store's writer, as a hung disk would (the watchdog test).
/// - `CITYGATE_FAULT_EXIT_BEFORE_COMMIT_AFTER=N`: after N messages the process
///   exits with a burst read but not committed, so its PUBACKs must not be
///   out (the commit-before-PUBACK test).
/// - `CITYGATE_FAULT_TRAP_DECODING=TEXT`: decoding a message whose bytes
///   contain TEXT traps, as a decoder with a bug would (the decoder-guard test).
struct FaultInjection: Sendable {
    var stallWriterAfter: Int?
    var exitBeforeCommitAfter: Int?
    var trapDecoding: [UInt8]?

    static let none = FaultInjection()

    static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> FaultInjection {
        FaultInjection(stallWriterAfter: environment["CITYGATE_FAULT_STALL_WRITER_AFTER"].flatMap(Int.init),
                       exitBeforeCommitAfter: environment["CITYGATE_FAULT_EXIT_BEFORE_COMMIT_AFTER"].flatMap(Int.init),
                       trapDecoding: environment["CITYGATE_FAULT_TRAP_DECODING"].flatMap { $0.isEmpty ? nil : Array($0.utf8) })
    }

    /// Traps when asked to for this message (before a decoder runs on it).
    func trapIfDecoding(_ message: [UInt8]) {
        guard let marker = trapDecoding, message.count >= marker.count else { return }
        for start in 0...(message.count - marker.count) where message[start..<(start + marker.count)].elementsEqual(marker) {
            fatalError("fault injection: a decoder trap on this message")
        }
    }
}
