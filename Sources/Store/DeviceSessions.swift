import Readings

/// The sessions of the devices one processing batch touches, inside that
/// batch's transaction: each read from `device_sessions` once, changed in
/// memory as the batch's frames and joins go by, and written back once when
/// the batch ends (at most one lookup and one upsert per device a batch,
/// instead of one of each per uplink). The rules that change a session are
/// `FrameDeduplication`'s; the session row also remembers the frames it
/// kept (`RecentFrames`), which is how a copy is recognised.
struct DeviceSessionBatch {
    private let connection: SQLiteConnection
    /// Every device looked up so far; nil: the table has no row for it.
    private var sessions: [DeviceID: DeviceSession?] = [:]
    private var changed: Set<DeviceID> = []

    init(connection: SQLiteConnection) {
        self.connection = connection
    }

    /// The device's session as of the frames recorded so far; nil if it has none.
    mutating func current(_ device: DeviceID) throws -> DeviceSession? {
        if let known = sessions[device] { return known }
        let row = try connection.query("SELECT session_start_id, last_fcnt, recent_frames FROM device_sessions WHERE device = ?", [.text(device)]).first
        let session = try row.map { row in
            DeviceSession(start: row[0].int ?? 0, lastFCnt: row[1].int, recent: try row[2].bytes.map(RecentFramesCodec.decode) ?? RecentFrames())
        }
        sessions[device] = .some(session)
        return session
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

    /// Writes the changed sessions back (before the batch commits).
    func write() throws {
        for device in changed.sorted() {
            guard let session = sessions[device] ?? nil else { continue }
            try connection.run(
                """
                INSERT INTO device_sessions (device, session_start_id, last_fcnt, recent_frames) VALUES (?, ?, ?, ?)
                ON CONFLICT(device) DO UPDATE SET session_start_id = excluded.session_start_id, last_fcnt = excluded.last_fcnt,
                    recent_frames = excluded.recent_frames
                """,
                [.text(device), .integer(session.start), session.lastFCnt.map { .integer($0) } ?? .null,
                 .blob(RecentFramesCodec.encode(session.recent))])
        }
    }
}
