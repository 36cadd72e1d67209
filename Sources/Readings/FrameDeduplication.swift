/// What counts as a second copy of one uplink. Three layers, each counted
/// in `citygate_uplinks_duplicate_total`:
///
/// 1. A QoS 1 redelivery after a reconnect or crash (the same topic, bytes
///    and packet identifier on a later connection, see `BrokerDelivery`)
///    within `frameWindowMillis`: dropped at ingest, no row.
/// 2. The same LoRaWAN frame again, (device, fCnt) within the device's current
///    session and `frameWindowMillis` (ChirpStack copies with another
///    deduplicationId or tx info, chirpstack#533): kept as a `duplicateFrame`
///    row without readings. A session starts with a join event, or when the
///    frame counter restarts below `sessionResetBelow` after a higher value
///    (battery swap, rejoin without a join event reaching the gateway).
/// 3. Frames with no counter (some NB-IoT): (device, payload fingerprint)
///    within `uncountedWindowMillis`. That window is for transport retries
///    only (10 s by default): a device that reports the same value again
///    later sends a new uplink with its own readings, and a registry
///    `interval` shorter than the window is a config error.
public struct DeduplicationPolicy: Sendable, Equatable {
    public var frameWindowMillis: Int64 = 24 * 3_600_000
    public var sessionResetBelow: UInt32 = 10
    public var uncountedWindowMillis: Int64 = 10_000

    public init(frameWindowMillis: Int64 = 24 * 3_600_000, sessionResetBelow: UInt32 = 10, uncountedWindowMillis: Int64 = 10_000) {
        self.frameWindowMillis = frameWindowMillis
        self.sessionResetBelow = sessionResetBelow
        self.uncountedWindowMillis = uncountedWindowMillis
    }
}

/// A device's frame-counter session: the first uplink id of the session and
/// the highest counter seen in it.
public struct DeviceSession: Sendable, Equatable {
    public var start: Int64
    public var lastFCnt: Int64?

    public init(start: Int64, lastFCnt: Int64?) {
        self.start = start
        self.lastFCnt = lastFCnt
    }
}

/// The frame-dedup rules as pure functions over a device's session state.
/// The store applies them inside its processing transaction (where the
/// sessions and the frames already kept are), so they live in the core
/// module, which the store may import, rather than in `Uplink`.
public enum FrameDeduplication {
    /// Where a counted frame falls: the session it belongs to (its first
    /// uplink id) and the frames missing before it in that session.
    public struct Placement: Sendable, Equatable {
        /// The session's first uplink id: frames from `sessionStart` on are
        /// compared with this one.
        public var sessionStart: Int64
        /// Frames missing between the session's last counter and this one
        /// (uplinks lost before they reached the gateway); 0 in a new session.
        public var gap: Int64

        public init(sessionStart: Int64, gap: Int64) {
            self.sessionStart = sessionStart
            self.gap = gap
        }
    }

    /// Frame `id` with counter `fCnt` against the device's recorded session.
    /// A counter that restarts below `policy.sessionResetBelow` after a
    /// higher value starts a new session at `id` (battery swap, rejoin
    /// without a join event). Pure: no overflow is possible (`fCnt` is 32 bits).
    public static func place(fCnt: UInt32, id: Int64, session: DeviceSession?, policy: DeduplicationPolicy) -> Placement {
        let counter = Int64(fCnt)
        let recordedStart = session?.start ?? 0
        guard let lastFCnt = session?.lastFCnt else { return Placement(sessionStart: recordedStart, gap: 0) }
        if fCnt < policy.sessionResetBelow, counter < lastFCnt { return Placement(sessionStart: id, gap: 0) }
        // Same session, counter ahead by more than one: frames in between never came.
        return Placement(sessionStart: recordedStart, gap: counter > lastFCnt + 1 ? counter - lastFCnt - 1 : 0)
    }

    /// The session after a frame was kept: a new one when the placement
    /// started one, else the recorded one with its highest counter.
    public static func noting(fCnt: UInt32, in placement: Placement, session: DeviceSession?) -> DeviceSession {
        let counter = Int64(fCnt)
        guard let session, session.start == placement.sessionStart else { return DeviceSession(start: placement.sessionStart, lastFCnt: counter) }
        return DeviceSession(start: session.start, lastFCnt: max(session.lastFCnt ?? 0, counter))
    }

    /// A LoRaWAN frame's identity: (device, fCnt).
    public static func frameKey(device: DeviceID, fCnt: UInt32) -> String { "\(device)/\(fCnt)" }

    /// A counterless frame's identity: (device, payload fingerprint).
    public static func frameKey(device: DeviceID, fingerprint: Int64) -> String { "\(device)/#\(fingerprint)" }
}

/// 64-bit FNV-1a, the one hash the store keeps on disk: the redelivery hint
/// over topic and message (`uplinks.message_hash`) and the fingerprint of a
/// counterless payload (in `uplinks.frame_key`). Changing it would make
/// stored hashes miss, so there is exactly one.
public struct FNV1a: Sendable {
    @usableFromInline var state: UInt64 = 0xcbf2_9ce4_8422_2325

    @inlinable public init() {}

    // Inlinable: it runs over every byte of every uplink at ingest, and a
    // generic called across modules without it walks the bytes through
    // protocol witnesses: 106-109 instead of 55-58 µs of CPU per uplink in
    // the load test (Benchmarks/RESULTS.md, the structure round).
    @inlinable
    public mutating func add<Bytes: Sequence<UInt8>>(_ bytes: Bytes) {
        for byte in bytes { state = (state ^ UInt64(byte)) &* 0x100_0000_01b3 }
    }

    @inlinable public var value: Int64 { Int64(bitPattern: state) }

    /// The fingerprint of one payload.
    @inlinable
    public static func hash(_ bytes: [UInt8]) -> Int64 {
        var hash = FNV1a()
        hash.add(bytes)
        return hash.value
    }
}
