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
/// wrote is not read again: `StoredRowCache` has its copy, and a row it knows
/// is not there is not looked for. The rules that change a session are
/// `FrameDeduplication`'s.
struct DeviceSessionBatch {
    private let connection: SQLiteConnection
    private let cache: StoredRowCache

    /// What the batch knows and did of one device.
    private struct Entry {
        /// nil: not looked up yet; .some(nil): the table has no row for it.
        var session: DeviceSession?? = nil
        var changed = false
        /// Uplinks recorded in this batch and the latest arrival among them.
        var uplinks: Int64 = 0
        var lastSeen: EpochMillis?
    }

    /// The devices touched, in the order first touched (`slots` says whose
    /// entry is where): one lookup by id per call (three sets keyed by device
    /// hashed each id up to six times an uplink).
    private var entries: [Entry] = []
    private var slots = BatchSlots<DeviceID>()

    /// Inside a `GatewayStore.transaction`, which checks the cache (`StoredRowCache.begin`).
    init(connection: SQLiteConnection, cache: StoredRowCache) {
        self.connection = connection
        self.cache = cache
        assert(cache.isValidated, "a batch outside GatewayStore.transaction")
    }

    private mutating func slot(_ device: DeviceID) -> Int {
        if let slot = slots.find(device) { return slot }
        entries.append(Entry())
        return slots.add(device)
    }

    /// The device's session as of the frames recorded so far; nil if it has none.
    mutating func current(_ device: DeviceID) throws -> DeviceSession? {
        let slot = slot(device)
        if let known = entries[slot].session { return known }
        let session = try cache.session(device)
            ?? (cache.mayHaveSession(device, on: connection) ? Self.storedSession(device, on: connection) : nil)
        entries[slot].session = .some(session)
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
        let slot = slot(device)
        entries[slot].session = .some(session)
        entries[slot].changed = true
    }

    /// A join: the session starts at uplink `id`, with no counter yet (the
    /// fingerprints of counterless frames are not the session's: they stay).
    mutating func startSession(_ device: DeviceID, at id: Int64) throws {
        let fingerprints = try current(device)?.recent.fingerprints ?? []
        set(device, DeviceSession(start: id, lastFCnt: nil, recent: RecentFrames(fingerprints: fingerprints)))
    }

    /// One more uplink of `device`, committed at `arrived`.
    mutating func noteActivity(_ device: DeviceID, arrived: EpochMillis) {
        let slot = slot(device)
        entries[slot].uplinks += 1
        entries[slot].lastSeen = max(entries[slot].lastSeen ?? arrived, arrived)
    }

    /// Writes the changed rows back (before the batch commits): a changed
    /// session whole, with the batch's activity added; a row whose session
    /// did not change, only its activity (its session columns may not have
    /// been read). Every session the batch knows is staged for the cache:
    /// read or written, it is what the row's session columns hold.
    func write() throws {
        for (device, entry) in zip(slots.keys, entries) {
            let lastSeen: SQLiteValue = entry.lastSeen.map { .integer($0) } ?? .null
            if case let session?? = entry.session { cache.stage(device, session) }
            if entry.changed || entry.uplinks > 0 { cache.noteSessionRow(device) }
            if entry.changed, case let session?? = entry.session {
                try connection.run(
                    Self.upsertSession,
                    [.text(device), .integer(session.start), session.lastFCnt.map { .integer($0) } ?? .null,
                     .blob(RecentFramesCodec.encode(session.recent)), .integer(entry.uplinks), lastSeen])
            }
            else if entry.uplinks > 0 {
                try connection.run(Self.upsertActivity, [.text(device), .integer(entry.uplinks), lastSeen])
            }
        }
    }

    /// Made once: interpolated at each call, the text was built and hashed anew.
    private static let upsertSession = """
        INSERT INTO device_sessions (device, session_start_id, last_fcnt, recent_frames, uplinks, last_seen_ms) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(device) DO UPDATE SET session_start_id = excluded.session_start_id, last_fcnt = excluded.last_fcnt,
            recent_frames = excluded.recent_frames, \(addActivity)
        """
    private static let upsertActivity = """
        INSERT INTO device_sessions (device, session_start_id, uplinks, last_seen_ms) VALUES (?, 0, ?, ?)
        ON CONFLICT(device) DO UPDATE SET \(addActivity)
        """

    /// The upsert's activity: uplinks added, the later of the two arrivals (either may be NULL).
    private static let addActivity = """
        uplinks = uplinks + excluded.uplinks, \
        last_seen_ms = max(coalesce(last_seen_ms, excluded.last_seen_ms), coalesce(excluded.last_seen_ms, last_seen_ms))
        """
}
