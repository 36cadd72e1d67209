/// What counts as a second copy of one uplink. Three layers, each counted
/// in `citygate_uplinks_duplicate_total`:
///
/// 1. The same MQTT topic and bytes again (a QoS 1 redelivery after a
///    reconnect or crash) within `frameWindowMillis`: dropped at ingest, no row.
/// 2. The same LoRaWAN frame again, (device, fCnt) within the device's current
///    session and `frameWindowMillis` (ChirpStack copies with another
///    deduplicationId or tx info, chirpstack#533): kept as a `duplicateFrame`
///    row without readings. A session starts with a join event, or when the
///    frame counter restarts below `sessionResetBelow` after a higher value
///    (battery swap, rejoin without a join event reaching the gateway).
/// 3. Frames with no counter (some NB-IoT): (device, payload fingerprint)
///    within `uncountedWindowMillis`.
public struct DeduplicationPolicy: Sendable, Equatable {
    public var frameWindowMillis: Int64 = 24 * 3_600_000
    public var sessionResetBelow: UInt32 = 10
    public var uncountedWindowMillis: Int64 = 3_600_000

    public init(frameWindowMillis: Int64 = 24 * 3_600_000, sessionResetBelow: UInt32 = 10, uncountedWindowMillis: Int64 = 3_600_000) {
        self.frameWindowMillis = frameWindowMillis
        self.sessionResetBelow = sessionResetBelow
        self.uncountedWindowMillis = uncountedWindowMillis
    }
}
