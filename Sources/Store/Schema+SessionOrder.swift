extension Schema {
    /// Migration 16: `device_sessions` is kept in the order its rows were
    /// first written, not in device order. A device's row is rewritten at
    /// every batch it reports in, and devices report on their own phase of
    /// their interval, so the devices of one batch are scattered over a table
    /// in device order: with 100,000 devices out of step, each uplink dirtied
    /// a page (4 KiB of WAL) for its session alone. In first-written order,
    /// devices that report together sit together, and a batch rewrites a few
    /// pages. The device stays the key (`PRIMARY KEY` of a rowid table is a
    /// unique index): that index takes a device once, when its row is first
    /// written, and is only read after. Figures: Benchmarks/RESULTS.md,
    /// issue 17, ninth step.
    ///
    /// Rows there are move in the order of their last report, the nearest
    /// this table keeps to the order devices report in.
    static let sessionsInReportOrder = """
        CREATE TABLE device_sessions_in_report_order (
            device            TEXT PRIMARY KEY,
            session_start_id  INTEGER NOT NULL,     -- frames before this uplink belong to an old session
            last_fcnt         INTEGER,
            recent_frames     BLOB,                 -- RecentFramesCodec
            uplinks           INTEGER NOT NULL DEFAULT 0,
            last_seen_ms      INTEGER               -- the last one's arrival
        );
        INSERT INTO device_sessions_in_report_order (device, session_start_id, last_fcnt, recent_frames, uplinks, last_seen_ms)
            SELECT device, session_start_id, last_fcnt, recent_frames, uplinks, last_seen_ms FROM device_sessions
            ORDER BY last_seen_ms, device;
        DROP TABLE device_sessions;
        ALTER TABLE device_sessions_in_report_order RENAME TO device_sessions;
        """
}
