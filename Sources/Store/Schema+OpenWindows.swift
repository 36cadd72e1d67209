import Readings

extension Schema {
    /// Migration 18: a device's open windows live in its session row
    /// (`open_windows`, `OpenWindowsCodec`), which each batch the device
    /// reports in reads and writes anyway, and `window_accumulators` goes. A
    /// row per device window was inserted at the device's first reading in
    /// each window: with 100,000 devices sending, about one per uplink, 7 µs
    /// and 1.5 KiB written, what the cost per uplink had over 100 devices
    /// (Benchmarks/RESULTS.md, issue 17, twelfth and thirteenth steps).
    ///
    /// `open_until_ms` is the earliest end among the row's windows, NULL
    /// when it has none; the partial index over it is how closing finds the
    /// rows with a window ended, and how retention knows which windows may
    /// still be open. It changes only when a window opens with none before
    /// it, or closes: not at every batch.
    ///
    /// `closing_state` keeps the latest window end closed: a reading's
    /// window that ends after it has no aggregate to look up, which spares
    /// the lookup for nearly every new window without trusting the clock.
    ///
    /// The series that took readings since they last closed move, with their
    /// flags. The others are closed and unchanged since: their aggregate
    /// holds their statistics and exact sum (migration 11 gave one to every
    /// aggregate whose series was unchanged; closing has written it since),
    /// and a reading still on time takes up from it, as it did from a pruned
    /// accumulator.
    static func migrateToOpenWindows(_ connection: SQLiteConnection) throws {
        try connection.execute("""
            ALTER TABLE device_sessions ADD COLUMN open_windows BLOB;      -- OpenWindowsCodec; NULL: none
            ALTER TABLE device_sessions ADD COLUMN open_until_ms INTEGER;  -- the earliest end among them; NULL: none
            """)
        // By session row, a bounded step at a time; a device's windows may span steps.
        var after: (row: Int64, id: Int64) = (.min, .min)
        var current: (row: Int64, windows: OpenWindows)?
        func flush() throws {
            guard let device = current else { return }
            try connection.run(OpenWindowsCodec.update, OpenWindowsCodec.columns(device.windows.stored) + [.integer(device.row)])
        }
        while true {
            let rows = try connection.query(
                """
                SELECT device_row, id, window_ms, window_start_ms, series FROM window_accumulators
                WHERE changed = 1 AND (device_row, id) > (?, ?) ORDER BY device_row, id LIMIT 10000
                """, [.integer(after.row), .integer(after.id)])
            guard let last = rows.last else { break }
            after = (last[0].int ?? .max, last[1].int ?? .max)
            for row in rows {
                let deviceRow = row[0].int ?? 0
                if current?.row != deviceRow {
                    try flush()
                    current = (deviceRow, OpenWindows())
                }
                current?.windows.windows.append(OpenWindow(windowLength: row[2].int ?? 0, windowStart: row[3].int ?? 0,
                                                           series: try WindowSeriesCodec.decode(row[4].bytes ?? [])))
            }
        }
        try flush()
        try connection.execute("""
            CREATE TABLE closing_state (
                id                INTEGER PRIMARY KEY CHECK (id = 1),
                closed_through_ms INTEGER NOT NULL       -- every device aggregate's window ends at or before it
            );
            INSERT INTO closing_state (id, closed_through_ms)
                SELECT 1, coalesce(CAST(max(window_start_ms + window_ms) AS INTEGER), -9223372036854775808) FROM aggregates WHERE scope = 'device';
            DROP TABLE window_accumulators;
            CREATE INDEX device_sessions_by_open_until ON device_sessions(open_until_ms) WHERE open_until_ms IS NOT NULL;
            """)
    }
}
