extension Schema {
    /// Migration 16: `device_sessions` is kept in the order its rows were
    /// first written, not in device order. A device's row is rewritten at
    /// every batch it reports in, and devices report on their own phase of
    /// their interval, so the devices of one batch are scattered over a table
    /// in device order: with 100,000 devices out of step, each uplink dirtied
    /// a page (4 KiB of WAL) for its session alone. In first-written order,
    /// devices that report together sit together, and a batch rewrites a few
    /// pages. The device stays the key (`UNIQUE`, an index of its own): that
    /// index takes a device once, when its row is first written, and is only
    /// read after. `id` is an `INTEGER PRIMARY KEY`, so
    /// no VACUUM renumbers it: accumulator rows refer to it (migration 17).
    /// Figures: Benchmarks/RESULTS.md, issue 17, ninth step.
    ///
    /// Rows there are move in the order of their last report, the nearest
    /// this table keeps to the order devices report in.
    static let sessionsInReportOrder = """
        CREATE TABLE device_sessions_in_report_order (
            id                INTEGER PRIMARY KEY,  -- first written, first: the table's order
            device            TEXT NOT NULL UNIQUE,
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

extension Schema {
    /// Migration 17: a window's accumulator row is found by its window and
    /// its device's session row (`device_row`, `device_sessions.id`), not by
    /// its device. Each device window's row is inserted at the device's first
    /// reading in that window, so its key went into an index in device order
    /// at a random page, one per uplink with 100,000 devices out of step. In
    /// window, then session-row order, a window's rows go in as its devices
    /// report: in the order they first reported (migration 16), a few pages a
    /// batch. The device stays in the row for closing and retention to read.
    ///
    /// A device with accumulators and no session row (none should be: a
    /// recorded uplink notes its device's activity) gets a bare one (session
    /// 0, no counter, which places frames as no row does), as
    /// `WindowAccumulatorBatch` does.
    static let accumulatorsInReportOrder = """
        INSERT INTO device_sessions (device, session_start_id)
            SELECT DISTINCT device, 0 FROM window_accumulators WHERE device NOT IN (SELECT device FROM device_sessions);
        CREATE TABLE window_accumulators_in_report_order (
            id              INTEGER PRIMARY KEY,
            device          TEXT    NOT NULL,
            device_row      INTEGER NOT NULL,           -- its device's device_sessions.id (sessions are never deleted)
            window_ms       INTEGER NOT NULL,
            window_start_ms INTEGER NOT NULL,
            window_end_ms   INTEGER NOT NULL,           -- start + length (saturating): what closing and pruning ask
            series          BLOB    NOT NULL,           -- the window's series and their accumulators (WindowSeriesCodec)
            changed         INTEGER NOT NULL DEFAULT 1  -- a series took readings since it last closed
        );
        INSERT INTO window_accumulators_in_report_order (id, device, device_row, window_ms, window_start_ms, window_end_ms, series, changed)
            SELECT w.id, w.device, s.id, w.window_ms, w.window_start_ms, w.window_end_ms, w.series, w.changed
            FROM window_accumulators w JOIN device_sessions s ON s.device = w.device ORDER BY w.id;
        DROP TABLE window_accumulators;
        ALTER TABLE window_accumulators_in_report_order RENAME TO window_accumulators;
        CREATE UNIQUE INDEX window_accumulators_by_report ON window_accumulators(window_ms, window_start_ms, device_row);
        CREATE INDEX window_accumulators_by_state ON window_accumulators(changed, window_end_ms);
        """
}
