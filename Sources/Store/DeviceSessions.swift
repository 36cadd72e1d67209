import Readings

/// A device's frame-counter session as `device_sessions` holds it: the first
/// uplink id of the session and the highest counter seen in it.
struct DeviceSession: Equatable {
    var start: Int64
    var lastFCnt: Int64?
}

/// The sessions of the devices one processing batch touches, inside that
/// batch's transaction: each read from `device_sessions` once, changed in
/// memory as the batch's frames and joins go by, and written back once when
/// the batch ends. (A batch of 500 uplinks from 100 devices made 500 lookups
/// and 500 upserts of this table; now at most 100 of each.)
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

    /// Records a frame's counter in the session starting at `start` (a new
    /// session, with this counter as its last, when `start` changed).
    mutating func note(_ device: DeviceID, start: Int64, fCnt: UInt32) throws {
        let counter = Int64(fCnt)
        if var session = try current(device), session.start == start {
            session.lastFCnt = max(session.lastFCnt ?? 0, counter)
            sessions[device] = session
        } else {
            sessions[device] = DeviceSession(start: start, lastFCnt: counter)
        }
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
