import Readings

/// The sessions of the devices one processing batch touches, inside that
/// batch's transaction: each read from `device_sessions` once, changed in
/// memory as the batch's frames and joins go by, and written back once when
/// the batch ends (at most one lookup and one upsert per device a batch,
/// instead of one of each per uplink). The rules that change a session are
/// `FrameDeduplication`'s.
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
        let row = try connection.query("SELECT session_start_id, last_fcnt FROM device_sessions WHERE device = ?", [.text(device)]).first
        let session = row.map { DeviceSession(start: $0[0].int ?? 0, lastFCnt: $0[1].int) }
        sessions[device] = .some(session)
        return session
    }

    /// Records a frame's counter in the session the placement found.
    mutating func note(_ device: DeviceID, fCnt: UInt32, placement: FrameDeduplication.Placement) throws {
        sessions[device] = FrameDeduplication.noting(fCnt: fCnt, in: placement, session: try current(device))
        changed.insert(device)
    }

    /// A join: the session starts at uplink `id`, with no counter yet.
    mutating func startSession(_ device: DeviceID, at id: Int64) {
        sessions[device] = DeviceSession(start: id, lastFCnt: nil)
        changed.insert(device)
    }

    /// Writes the changed sessions back (before the batch commits).
    func write() throws {
        for device in changed.sorted() {
            guard let session = sessions[device] ?? nil else { continue }
            try connection.run(
                """
                INSERT INTO device_sessions (device, session_start_id, last_fcnt) VALUES (?, ?, ?)
                ON CONFLICT(device) DO UPDATE SET session_start_id = excluded.session_start_id, last_fcnt = excluded.last_fcnt
                """,
                [.text(device), .integer(session.start), session.lastFCnt.map { .integer($0) } ?? .null])
        }
    }
}
