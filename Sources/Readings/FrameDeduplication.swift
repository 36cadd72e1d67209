/// What counts as a second copy of one uplink. Three layers, each counted
/// in `citygate_uplinks_duplicate_total`:
///
/// 1. A QoS 1 redelivery after a reconnect or crash (the same topic, bytes
///    and packet identifier on a later connection, see `BrokerDelivery`)
///    within `frameWindowMillis`: dropped at ingest, no row.
/// 2. The same LoRaWAN frame again, (device, fCnt) within the device's current
///    session and `frameWindowMillis` (ChirpStack copies with another
///    deduplicationId or tx info, chirpstack#533): kept as a `duplicateFrame`
///    row without readings. The session remembers its kept frames within
///    the bounds `RecentFrames` states. A session starts with a join event, or when the
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

/// A device's frame-counter session: the first uplink id of the session,
/// the highest counter seen in it, and what it remembers of the frames it
/// kept, so that a later copy is recognised from this one row.
public struct DeviceSession: Sendable, Equatable {
    public var start: Int64
    public var lastFCnt: Int64?
    public var recent: RecentFrames

    public init(start: Int64, lastFCnt: Int64?, recent: RecentFrames = RecentFrames()) {
        self.start = start
        self.lastFCnt = lastFCnt
        self.recent = recent
    }
}

/// How a frame was kept, for the copies that follow it: a copy of a decoded
/// frame, or of a quarantined one (with its counter), is a duplicate frame.
public enum KeptFrame: Sendable {
    case decoded
    case quarantined
}

/// Which of the `span` counters up to a session's highest were kept: bit i
/// stands for counter highest − i. (An anti-replay window, as IPsec keeps
/// one: RFC 4303 §3.4.3.)
public struct CounterWindow: Sendable, Equatable {
    public static let wordCount = 4
    public static let span = Int64(wordCount * 64)
    /// Bit i of the window is bit i % 64 of word i / 64. The four words are
    /// held inline: as an array, each copy of a session retained its two
    /// windows and each advance allocated a new one.
    private var word0: UInt64 = 0, word1: UInt64 = 0, word2: UInt64 = 0, word3: UInt64 = 0

    public init() {}

    /// The window from stored words (fewer than four: the rest are 0; more: ignored).
    public init(words stored: [UInt64]) {
        for (index, word) in stored.prefix(Self.wordCount).enumerated() { self[word: index] = word }
    }

    /// Word `index` (0 ..< `wordCount`).
    public subscript(word index: Int) -> UInt64 {
        get {
            switch index {
            case 0: word0
            case 1: word1
            case 2: word2
            case 3: word3
            default: preconditionFailure("CounterWindow has \(Self.wordCount) words, not \(index + 1)")
            }
        }
        set {
            switch index {
            case 0: word0 = newValue
            case 1: word1 = newValue
            case 2: word2 = newValue
            case 3: word3 = newValue
            default: preconditionFailure("CounterWindow has \(Self.wordCount) words, not \(index + 1)")
            }
        }
    }

    /// All four words, lowest first.
    public var words: [UInt64] { [word0, word1, word2, word3] }

    /// Whether the counter `offset` below the highest was kept; false outside the window.
    public func contains(offset: Int64) -> Bool {
        guard offset >= 0, offset < Self.span else { return false }
        return self[word: Int(offset / 64)] & (1 << UInt64(offset % 64)) != 0
    }

    /// Marks the counter `offset` below the highest; outside the window nothing is kept.
    public mutating func insert(offset: Int64) {
        guard offset >= 0, offset < Self.span else { return }
        self[word: Int(offset / 64)] |= 1 << UInt64(offset % 64)
    }

    public mutating func remove(offset: Int64) {
        guard offset >= 0, offset < Self.span else { return }
        self[word: Int(offset / 64)] &= ~(1 << UInt64(offset % 64))
    }

    /// The highest counter moved up by `distance`: every kept counter is that much further below it.
    public mutating func advance(by distance: Int64) {
        guard distance > 0 else { return }
        guard distance < Self.span else { return self = CounterWindow() }
        let wordShift = Int(distance / 64), bitShift = UInt64(distance % 64)
        // From the top down, in place: word i takes words i − shift and the
        // one below it, neither written yet.
        for index in stride(from: Self.wordCount - 1, through: 0, by: -1) {
            let from = index - wordShift
            var shifted: UInt64 = from >= 0 ? self[word: from] << bitShift : 0
            if bitShift > 0, from > 0 { shifted |= self[word: from - 1] >> (64 - bitShift) }
            self[word: index] = shifted
        }
    }
}

/// A counterless frame kept recently: its payload fingerprint and when.
public struct SeenFingerprint: Sendable, Equatable {
    public var value: Int64
    public var seenAt: EpochMillis

    public init(value: Int64, seenAt: EpochMillis) {
        self.value = value
        self.seenAt = seenAt
    }
}

/// What a session remembers of the frames it kept: which counters near its
/// highest were kept decoded or quarantined, when it last kept one, and the
/// fingerprints of the last few counterless frames. Kept in the session row
/// (migration 12) instead of an index over every uplink, which cost a page
/// per device per batch (Benchmarks/RESULTS.md, issue 17). Its bounds:
/// - a copy more than `CounterWindow.span` counters behind the highest is
///   taken as a new frame (a network server does not forward a frame that
///   far behind unless the device's counters were reset, which starts a new
///   session below `sessionResetBelow`);
/// - a device silent for longer than the duplicate window forgets its
///   counters: its next frames are compared with nothing older;
/// - at most `fingerprintCapacity` counterless frames within the uncounted
///   window (a registry `interval` shorter than the window is refused).
public struct RecentFrames: Sendable, Equatable {
    public static let fingerprintCapacity = 8
    /// When the session last kept a frame with a counter (gateway clock).
    public var lastKeptAt: EpochMillis
    public var decoded: CounterWindow
    public var quarantined: CounterWindow
    /// Oldest first.
    public var fingerprints: [SeenFingerprint]

    public init(lastKeptAt: EpochMillis = 0, decoded: CounterWindow = CounterWindow(), quarantined: CounterWindow = CounterWindow(),
                fingerprints: [SeenFingerprint] = []) {
        self.lastKeptAt = lastKeptAt
        self.decoded = decoded
        self.quarantined = quarantined
        self.fingerprints = fingerprints
    }

    func counters(_ kind: KeptFrame) -> CounterWindow { kind == .decoded ? decoded : quarantined }

    /// Whether the session kept a frame with a counter within `window` before `now`.
    func isCurrent(at now: EpochMillis, window: Int64) -> Bool { lastKeptAt > now - window }

    /// The counter `offset` below the highest was kept as `kind` at `time`.
    public mutating func remember(_ kind: KeptFrame, offset: Int64, at time: EpochMillis) {
        switch kind {
        case .decoded: decoded.insert(offset: offset)
        case .quarantined: quarantined.insert(offset: offset)
        }
        lastKeptAt = max(lastKeptAt, time)
    }

    /// A counterless frame was kept at `time`: its fingerprint is the newest,
    /// the oldest beyond the capacity forgotten.
    public mutating func remember(fingerprint: Int64, at time: EpochMillis) {
        fingerprints.append(SeenFingerprint(value: fingerprint, seenAt: time))
        fingerprints.removeFirst(max(0, fingerprints.count - Self.fingerprintCapacity))
    }
}

/// The frame-dedup rules as pure functions over a device's session state.
/// The store applies them inside its processing transaction (where the
/// sessions are), so they live in the core module, which the store may
/// import, rather than in `Uplink`.
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
        // Same session, counter ahead by more than one: frames in between
        // never came. (`lastFCnt` is read back from the database: compared
        // and subtracted without trapping whatever it holds.)
        guard lastFCnt < counter - 1 else { return Placement(sessionStart: recordedStart, gap: 0) }
        let (distance, overflow) = counter.subtractingReportingOverflow(lastFCnt)
        return Placement(sessionStart: recordedStart, gap: overflow ? counter : distance - 1)
    }

    /// Whether a frame with counter `fCnt`, placed in `placement`, is a copy
    /// of one the session kept as `kind`: the same session, a counter the
    /// session remembers, and the session kept a frame within the duplicate
    /// window. (`lastFCnt` comes from the database: the offset is computed
    /// without trapping whatever it holds.)
    public static func isCopy(fCnt: UInt32, of kind: KeptFrame, in placement: Placement, session: DeviceSession?, now: EpochMillis,
                              policy: DeduplicationPolicy) -> Bool {
        guard let session, session.start == placement.sessionStart, let highest = session.lastFCnt,
              session.recent.isCurrent(at: now, window: policy.frameWindowMillis) else { return false }
        let (offset, overflow) = highest.subtractingReportingOverflow(Int64(fCnt))
        return !overflow && session.recent.counters(kind).contains(offset: offset)
    }

    /// The session after a frame was kept as `kind` at `now`: a new one when
    /// the placement started one, else the recorded one with its highest
    /// counter; either way the frame's counter is remembered. A session that
    /// kept nothing within the duplicate window starts remembering afresh.
    public static func noting(fCnt: UInt32, as kind: KeptFrame, in placement: Placement, session: DeviceSession?, now: EpochMillis,
                              policy: DeduplicationPolicy) -> DeviceSession {
        let counter = Int64(fCnt)
        var noted: DeviceSession
        if let session, session.start == placement.sessionStart {
            noted = session
            let highest = max(session.lastFCnt ?? counter, counter)
            noted.lastFCnt = highest
            if session.lastFCnt == nil || !session.recent.isCurrent(at: now, window: policy.frameWindowMillis) {
                noted.recent = RecentFrames(fingerprints: session.recent.fingerprints)
            }
            else if let last = session.lastFCnt, highest > last {
                let (distance, overflow) = highest.subtractingReportingOverflow(last)
                noted.recent.decoded.advance(by: overflow ? CounterWindow.span : distance)
                noted.recent.quarantined.advance(by: overflow ? CounterWindow.span : distance)
            }
        }
        else {
            noted = DeviceSession(start: placement.sessionStart, lastFCnt: counter, recent: RecentFrames(fingerprints: session?.recent.fingerprints ?? []))
        }
        noted.recent.remember(kind, offset: (noted.lastFCnt ?? counter) - counter, at: now)
        return noted
    }

    /// A quarantined frame requeued for decoding (uplink `id`): its counter
    /// no longer marks a quarantined copy, so if it fails again it is
    /// quarantined again rather than taken for a copy of itself.
    public static func forgetting(quarantined fCnt: UInt32, id: Int64, session: DeviceSession) -> DeviceSession {
        guard id >= session.start, let highest = session.lastFCnt else { return session }
        let (offset, overflow) = highest.subtractingReportingOverflow(Int64(fCnt))
        guard !overflow else { return session }
        var changed = session
        changed.recent.quarantined.remove(offset: offset)
        return changed
    }

    /// Whether a counterless frame with this payload fingerprint was kept
    /// within the uncounted window.
    public static func isCopy(fingerprint: Int64, session: DeviceSession?, now: EpochMillis, policy: DeduplicationPolicy) -> Bool {
        session?.recent.fingerprints.contains { $0.value == fingerprint && $0.seenAt > now - policy.uncountedWindowMillis } ?? false
    }

    /// The session after a counterless frame was kept: its fingerprint
    /// remembered, those outside the window and the oldest beyond the
    /// capacity forgotten. A device with no session gets one (start 0, no counter).
    public static func noting(fingerprint: Int64, session: DeviceSession?, now: EpochMillis, policy: DeduplicationPolicy) -> DeviceSession {
        var noted = session ?? DeviceSession(start: 0, lastFCnt: nil)
        noted.recent.fingerprints.removeAll { $0.seenAt <= now - policy.uncountedWindowMillis }
        noted.recent.remember(fingerprint: fingerprint, at: now)
        return noted
    }
}

/// 64-bit FNV-1a: the fingerprint of a counterless payload, kept on disk in
/// `device_sessions.recent_frames`. Changing it would make stored
/// fingerprints miss. (It was the redelivery hint over whole messages too,
/// until `MessageHash` took that over in migration 15: a payload is a few
/// bytes, a message a kilobyte.)
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
