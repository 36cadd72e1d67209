import Logging
import Store

/// What every service shares: the store, the settings in effect (SIGHUP may
/// replace them), the metrics and the logger. Built once in `GatewayApp`.
struct ServiceContext: Sendable {
    let store: GatewayStore
    let settings: LiveSettings
    let metrics: GatewayMetrics
    let logger: Logger
    /// Each hub's live state, for `/api/status` and the status page.
    var hubBoard = HubStatusBoard()
    /// What the last run was decoding when it stopped (see `DecodeGuard`).
    var decodeGuard = DecodeGuard.disabled
    /// Faults a test asked for (never set in production).
    var faults = FaultInjection.none
}
