import Readings

extension Schema {
    /// Migration 12: a device's session row remembers the frames it kept
    /// (`RecentFrames`, see `RecentFramesCodec`) and holds its activity
    /// (`device_activity` goes into it), and `uplinks_by_frame` goes. That index was keyed by device, so each batch wrote a page of
    /// it per device it touched: about 1.5 KiB per uplink with 100 devices,
    /// a page per uplink with 100,000 (Benchmarks/RESULTS.md, issue 17).
    /// `uplinks.frame_key` stays for the rows that have it; new rows leave it
    /// empty (their device and counter are in `device` and `fcnt`).
    ///
    /// Filled from the uplinks that carry a frame key, in id order, a bounded
    /// step at a time: a decoded or quarantined frame of a device's current
    /// session within `CounterWindow.span` of its highest counter sets its
    /// bit; a counterless frame's fingerprint is remembered (the last
    /// `RecentFrames.fingerprintCapacity`). The session's `lastKeptAt` is
    /// the latest such frame's arrival, so a device silent for longer than
    /// the duplicate window remembers nothing, as the index's time bound had it.
    static func migrateToRecentFrames(_ connection: SQLiteConnection) throws {
        // A device's activity joins its session in the same row (see
        // `DeviceSessionBatch`): a device that has activity but no session
        // gets session 0 with no counter, which places frames as no row did.
        try connection.execute("""
            ALTER TABLE device_sessions ADD COLUMN recent_frames BLOB;                   -- RecentFramesCodec
            ALTER TABLE device_sessions ADD COLUMN uplinks INTEGER NOT NULL DEFAULT 0;   -- uplinks recorded
            ALTER TABLE device_sessions ADD COLUMN last_seen_ms INTEGER;                 -- the last one's arrival
            INSERT INTO device_sessions (device, session_start_id, uplinks, last_seen_ms)
                SELECT device, 0, uplinks, last_seen_ms FROM device_activity WHERE true
                ON CONFLICT(device) DO UPDATE SET uplinks = excluded.uplinks, last_seen_ms = excluded.last_seen_ms;
            DROP TABLE device_activity;
            """)
        var sessions: [DeviceID: DeviceSession] = [:]
        for row in try connection.query("SELECT device, session_start_id, last_fcnt FROM device_sessions") {
            guard let device = row[0].string else { continue }
            sessions[device] = DeviceSession(start: row[1].int ?? 0, lastFCnt: row[2].int)
        }
        var touched: Set<DeviceID> = []
        var after: Int64 = 0
        while true {
            let rows = try connection.query(
                "SELECT id, device, fcnt, state, received_ms, frame_key FROM uplinks WHERE id > ? AND frame_key IS NOT NULL ORDER BY id LIMIT 20000",
                [.integer(after)])
            guard let last = rows.last else { break }
            after = last[0].int ?? after
            for row in rows {
                guard let id = row[0].int, let device = row[1].string, let received = row[4].int, let key = row[5].string else { continue }
                let state = row[3].int
                if let marker = key.lastIndex(of: "#") {
                    // A counterless frame: (device, payload fingerprint), decoded ones only.
                    guard state == UplinkState.decoded.rawValue, let fingerprint = Int64(key[key.index(after: marker)...]) else { continue }
                    var session = sessions[device] ?? DeviceSession(start: 0, lastFCnt: nil)
                    session.recent.remember(fingerprint: fingerprint, at: received)
                    sessions[device] = session
                    touched.insert(device)
                    continue
                }
                guard let fCnt = row[2].int, var session = sessions[device], id >= session.start, let highest = session.lastFCnt,
                      state == UplinkState.decoded.rawValue || state == UplinkState.quarantined.rawValue else { continue }
                let (offset, overflow) = highest.subtractingReportingOverflow(fCnt)
                guard !overflow, offset >= 0, offset < CounterWindow.span else { continue }
                session.recent.remember(state == UplinkState.decoded.rawValue ? .decoded : .quarantined, offset: offset, at: received)
                sessions[device] = session
                touched.insert(device)
            }
        }
        for device in touched.sorted() {
            guard let session = sessions[device] else { continue }
            try connection.run(
                """
                INSERT INTO device_sessions (device, session_start_id, last_fcnt, recent_frames) VALUES (?, ?, ?, ?)
                ON CONFLICT(device) DO UPDATE SET recent_frames = excluded.recent_frames
                """,
                [.text(device), .integer(session.start), session.lastFCnt.map { .integer($0) } ?? .null, .blob(RecentFramesCodec.encode(session.recent))])
        }
        try connection.execute("DROP INDEX uplinks_by_frame;")
    }
}
