import Readings

extension Schema {
    /// Migration 11: each window of each series keeps a running accumulator,
    /// updated once per recorded batch, and closes from it; the two indexes
    /// over every reading (by device and window, and the unaggregated ones by
    /// window start) go. They cost 2.8 KiB written and about 10 µs per uplink
    /// under load (Benchmarks/RESULTS.md, issue 17). See `ReadingWindows` for
    /// the rules and `WindowSeriesCodec` for the row's `series`.
    ///
    /// One row per device window, in rowid order: new windows go at the end
    /// of the table and of the state index, and only the key index is in
    /// device order. The state index is by window end, so closing asks a
    /// range of it (windows ended before now minus grace), not every open
    /// window each tick. (A row per series, keyed by the series, was a random
    /// page per reading with 100,000 devices sending: Benchmarks/RESULTS.md.)
    ///
    /// Filled from the readings there are: every window with readings not yet
    /// aggregated, and every window that ended in the last 32 days (lateness
    /// is at most 30 days and grace a day, so an older one can no longer be
    /// revised; a reading for it finds its aggregate and is too late). A
    /// reading too late (aggregated = 2) is in no accumulator. Readings still
    /// waiting for their window at the upgrade are taken as on time (lateness
    /// is configuration, which a migration does not see). Device aggregates
    /// get their exact sum where their window is closed and unchanged.
    static func migrateToWindowAccumulators(_ connection: SQLiteConnection) throws {
        try connection.execute("""
            CREATE TABLE window_accumulators (
                id              INTEGER PRIMARY KEY,
                device          TEXT    NOT NULL,
                window_ms       INTEGER NOT NULL,
                window_start_ms INTEGER NOT NULL,
                window_end_ms   INTEGER NOT NULL,           -- start + length (saturating): what closing and pruning ask
                series          BLOB    NOT NULL,           -- the window's series and their accumulators (WindowSeriesCodec)
                changed         INTEGER NOT NULL DEFAULT 1  -- a series took readings since it last closed
            );
            CREATE UNIQUE INDEX window_accumulators_by_window ON window_accumulators(device, window_ms, window_start_ms);
            CREATE INDEX window_accumulators_by_state ON window_accumulators(changed, window_end_ms);

            -- A device aggregate keeps its window's exact sum (sum_high * 2^32 + sum_low),
            -- so a window whose accumulator was pruned can take a reading still on time.
            ALTER TABLE aggregates ADD COLUMN sum_high INTEGER;
            ALTER TABLE aggregates ADD COLUMN sum_low INTEGER;

            -- Per series, in key order: the exact sum as Σ(value >> 32)·2³² + Σ(value & 0xFFFFFFFF),
            -- two sums SQLite takes without overflow; `last` the reading with the latest time,
            -- the later arrival on a tie, as `WindowStatistics.of` has it.
            CREATE TABLE migration_window_series AS
            SELECT r.device AS device, r.window_ms AS window_ms, r.window_start_ms AS window_start_ms, r.metric AS metric,
                   r.channel AS channel, count(*) AS count, min(r.value) AS min, max(r.value) AS max,
                   sum(r.value >> 32) AS sum_high, sum(r.value & 4294967295) AS sum_low,
                   (SELECT l.value FROM readings l
                    WHERE l.device = r.device AND l.metric = r.metric AND l.channel IS r.channel AND l.window_ms = r.window_ms
                      AND l.window_start_ms = r.window_start_ms AND l.aggregated <> 2
                    ORDER BY l.time_ms DESC, l.id DESC LIMIT 1) AS last,
                   max(r.time_ms) AS last_time_ms, max(r.aggregated = 0) AS changed,
                   EXISTS (SELECT 1 FROM aggregates a
                           WHERE a.source = r.device AND a.metric = r.metric AND a.channel IS r.channel AND a.window_ms = r.window_ms
                             AND a.window_start_ms = r.window_start_ms AND a.scope = 'device') AS closed
            FROM readings r WHERE r.aggregated <> 2
            GROUP BY r.device, r.window_ms, r.window_start_ms, r.metric, r.channel
            HAVING max(r.aggregated = 0) = 1
                OR max(r.window_start_ms + r.window_ms) >= CAST(strftime('%s', 'now') AS INTEGER) * 1000 - 32 * 86400000
            ORDER BY r.device, r.window_ms, r.window_start_ms;

            CREATE INDEX migration_window_series_by_series ON migration_window_series(device, metric, window_ms, window_start_ms);
            UPDATE aggregates SET
                sum_high = (SELECT w.sum_high FROM migration_window_series w WHERE \(seriesOfAggregate)),
                sum_low = (SELECT w.sum_low FROM migration_window_series w WHERE \(seriesOfAggregate))
            WHERE scope = 'device';
            """)
        // One row per device window, from the series in key order, a bounded step at a time.
        var after: Int64 = 0
        var current: (key: [SQLiteValue], series: [WindowSeries])?
        func flush() throws {
            guard let window = current, !window.series.isEmpty else { return }
            let end = Window(start: window.key[2].int ?? 0, length: window.key[1].int ?? 0).end(plus: 0)
            try connection.run("INSERT INTO window_accumulators (device, window_ms, window_start_ms, window_end_ms, series, changed) VALUES (?, ?, ?, ?, ?, ?)",
                               window.key + [.integer(end), .blob(WindowSeriesCodec.encode(window.series)),
                                             .integer(window.series.contains(where: \.changed) ? 1 : 0)])
        }
        while true {
            let rows = try connection.query(
                """
                SELECT rowid, device, window_ms, window_start_ms, metric, channel, count, min, max, sum_high, sum_low, last, last_time_ms, changed, closed
                FROM migration_window_series WHERE rowid > ? ORDER BY rowid LIMIT 10000
                """, [.integer(after)])
            guard let last = rows.last else { break }
            after = last[0].int ?? after
            for row in rows {
                let key = Array(row[1...3])
                if current?.key != key {
                    try flush()
                    current = (key, [])
                }
                let accumulator = WindowAccumulator(count: row[6].int ?? 0, min: row[7].int ?? 0, max: row[8].int ?? 0,
                                                    sum: GatewayStore.sum(high: row[9].int ?? 0, low: row[10].int ?? 0),
                                                    last: row[11].int ?? 0, lastTime: row[12].int ?? 0)
                current?.series.append(WindowSeries(metric: try Metric.stored(row[4]), channel: row[5].int.map { Int($0) }, accumulator: accumulator,
                                                    changed: row[13].int == 1, closed: row[14].int == 1))
            }
        }
        try flush()
        try connection.execute("""
            DROP TABLE migration_window_series;
            DROP INDEX readings_unaggregated;
            DROP INDEX readings_by_device_window;
            """)
    }

    /// The unchanged series (`w`) of a device aggregate's window.
    private static let seriesOfAggregate = """
        w.device = aggregates.source AND w.metric = aggregates.metric AND w.channel IS aggregates.channel \
        AND w.window_ms = aggregates.window_ms AND w.window_start_ms = aggregates.window_start_ms AND w.changed = 0
        """
}
