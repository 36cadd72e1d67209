import Foundation

/// Faults the integration tests inject into a real gateway process, read
/// from its environment once at start (never set in production):
///
/// - `CITYGATE_FAULT_STALL_WRITER_AFTER=N`: after N messages the commit path
///   stalls holding the store's writer, as a hung disk would (the watchdog test).
/// - `CITYGATE_FAULT_EXIT_BEFORE_COMMIT_AFTER=N`: after N messages the process
///   exits with a burst read but not committed, so its PUBACKs must not be
///   out (the commit-before-PUBACK test).
struct FaultInjection: Sendable {
    var stallWriterAfter: Int?
    var exitBeforeCommitAfter: Int?

    static let none = FaultInjection()

    static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> FaultInjection {
        FaultInjection(stallWriterAfter: environment["CITYGATE_FAULT_STALL_WRITER_AFTER"].flatMap(Int.init),
                       exitBeforeCommitAfter: environment["CITYGATE_FAULT_EXIT_BEFORE_COMMIT_AFTER"].flatMap(Int.init))
    }
}
