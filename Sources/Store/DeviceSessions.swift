import Readings

/// The rows of the devices one processing batch touches, inside that
/// batch's transaction. A device's row in `device_sessions` holds its
/// frame-counter session, what the session remembers of the frames it kept
/// (`RecentFrames`, how a copy is recognised), and its activity (uplinks
/// recorded, the last arrival: what the silent-device check and `status`
/// read). Each row is read once, changed in memory as the batch's frames
/// and joins go by, and written back once when the batch ends: at most one
/// lookup and one upsert per device a batch, instead of one of each per
/// uplink, and one row (one page) per device rather than one in each of
/// two tables, which with 100,000 devices sending was a page each per
/// uplink (Benchmarks/RESULTS.md, issue 17). A row a recent batch read or
/// wrote is not read again: `StoredRowCache` has its copy. The rules that
/// change a session are `FrameDeduplication`'s.
struct DeviceSessionBatch {
    private let connection: SQLiteConnection
    private let cache: StoredRowCache
    /// Every device looked up so far; nil: the table has no row for it.
    private var sessions: [DeviceID: DeviceSession?] = [:]
    private var changed: Set<DeviceID> = []
    /// Per device: uplinks recorded in this batch and the latest arrival among them.
    private var activity: [DeviceID: (uplinks: Int64, lastSeen: EpochMillis)] = [:]

    /// Inside a `GatewayStore.transaction`, which checks the cache (`StoredRowCache.begin`).
    init(connection: SQLiteConnection, cache: StoredRowCache) {
        self.connection = connection
        self.cache = cache
        assert(cache.isValidated, "a batch outside GatewayStore.transaction")
    }

    /// The device's session as of the frames recorded so far; nil if it has none.
    mutating func current(_ device: DeviceID) throws -> DeviceSession? {
        if let known = sessions[device] { return known }
        if let copy = cache.session(device) {
            sessions[device] = .some(copy)
            return copy
        }
        let session = try Self.storedSession(device, on: connection)
        sessions[device] = .some(session)
        return session
    }

    /// The device's session as its row holds it; nil if it has no row.
    static func storedSession(_ device: DeviceID, on connection: SQLiteConnection) throws -> DeviceSession? {
        let row = try connection.query("SELECT session_start_id, last_fcnt, recent_frames FROM device_sessions WHERE device = ?", [.text(device)]).first
        return try row.map { row in
            DeviceSession(start: row[0].int ?? 0, lastFCnt: row[1].int, recent: try row[2].bytes.map(RecentFramesCodec.decode) ?? RecentFrames())
        }
    }

    /// Replaces the device's session (a frame kept, a copy forgotten).
    mutating func set(_ device: DeviceID, _ session: DeviceSession) {
        sessions[device] = session
        changed.insert(device)
    }

    /// A join: the session starts at uplink `id`, with no counter yet (the
    /// fingerprints of counterless frames are not the session's: they stay).
    mutating func startSession(_ device: DeviceID, at id: Int64) throws {
        let fingerprints = try current(device)?.recent.fingerprints ?? []
        set(device, DeviceSession(start: id, lastFCnt: nil, recent: RecentFrames(fingerprints: fingerprints)))
    }

    /// One more uplink of `device`, committed at `arrived`.
    mutating func noteActivity(_ device: DeviceID, arrived: EpochMillis) {
        let noted = activity[device]
        activity[device] = ((noted?.uplinks ?? 0) + 1, max(noted?.lastSeen ?? arrived, arrived))
    }

    /// Writes the changed rows back (before the batch commits): a changed
    /// session whole, with the batch's activity added; a row whose session
    /// did not change, only its activity (its session columns may not have
    /// been read). Every session the batch knows is staged for the cache:
    /// read or written, it is what the row's session columns hold.
    func write() throws {
        for case let (device, session?) in sessions { cache.stage(device, session) }
        for device in changed.union(activity.keys).sorted() {
            let uplinks = activity[device]?.uplinks ?? 0, lastSeen: SQLiteValue = activity[device].map { .integer($0.lastSeen) } ?? .null
            if changed.contains(device), let session = sessions[device] ?? nil {
                try connection.run(
                    """
                    INSERT INTO device_sessions (device, session_start_id, last_fcnt, recent_frames, uplinks, last_seen_ms) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT(device) DO UPDATE SET session_start_id = excluded.session_start_id, last_fcnt = excluded.last_fcnt,
                        recent_frames = excluded.recent_frames, \(Self.addActivity)
                    """,
                    [.text(device), .integer(session.start), session.lastFCnt.map { .integer($0) } ?? .null,
                     .blob(RecentFramesCodec.encode(session.recent)), .integer(uplinks), lastSeen])
            }
            else if uplinks > 0 {
                try connection.run(
                    """
                    INSERT INTO device_sessions (device, session_start_id, uplinks, last_seen_ms) VALUES (?, 0, ?, ?)
                    ON CONFLICT(device) DO UPDATE SET \(Self.addActivity)
                    """, [.text(device), .integer(uplinks), lastSeen])
            }
        }
    }

    /// The upsert's activity: uplinks added, the later of the two arrivals (either may be NULL).
    private static let addActivity = """
        uplinks = uplinks + excluded.uplinks, \
        last_seen_ms = max(coalesce(last_seen_ms, excluded.last_seen_ms), coalesce(excluded.last_seen_ms, last_seen_ms))
        """
}
