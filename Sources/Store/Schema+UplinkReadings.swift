extension Schema {
    /// Migration 13: an uplink's readings are one row of `uplink_readings`,
    /// keyed by the uplink, holding them as a JSON array (`UplinkReadingsText`).
    /// A row per reading was a table row and an index entry (`readings_by_uplink`)
    /// each, about 3.6 of each per uplink; windows close from their
    /// accumulators since migration 11, so nothing looks readings up but
    /// retention, which goes by uplink (Benchmarks/RESULTS.md, issue 17).
    ///
    /// `readings` becomes a view with the old table's columns (and `position`,
    /// the reading's place in its uplink), so `sqlite3` still shows one row
    /// per reading: what an operator or a data team queries is unchanged.
    ///
    /// The old rows move in id order. A reading whose device differs from
    /// its uplink's first reading's keeps its device in its element (no
    /// release wrote such an uplink; the form allows it, so nothing is lost).
    static let uplinkReadings = """
        CREATE TABLE uplink_readings (
            uplink_id INTEGER PRIMARY KEY,   -- the uplink (appended in id order; no foreign key: uplinks go after their readings)
            device    TEXT NOT NULL,         -- the device of its readings
            readings  TEXT NOT NULL          -- JSON: [[metric, channel, time_ms, value, window_ms, window_start_ms, aggregated(, device)], ...]
        );
        INSERT INTO uplink_readings (uplink_id, device, readings)
            SELECT uplink_id, first_device, json_group_array(json(element)) FROM (
                SELECT uplink_id, first_device,
                       CASE WHEN device = first_device
                            THEN json_array(metric, channel, time_ms, value, window_ms, window_start_ms, aggregated)
                            ELSE json_array(metric, channel, time_ms, value, window_ms, window_start_ms, aggregated, device) END AS element
                FROM (SELECT *, first_value(device) OVER (PARTITION BY uplink_id ORDER BY id) AS first_device FROM readings)
                ORDER BY uplink_id, id)
            GROUP BY uplink_id;
        DROP TABLE readings;
        \(readingsView)
        """

    /// One row per reading, as the table had them (`aggregated`: 0 taken
    /// into its window, 2 too late; 1 in rows from before migration 11).
    static let readingsView = """
        CREATE VIEW readings (uplink_id, position, device, metric, channel, time_ms, value, window_ms, window_start_ms, aggregated) AS
            SELECT r.uplink_id, j.key, coalesce(j.value ->> 7, r.device), j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3,
                   j.value ->> 4, j.value ->> 5, j.value ->> 6
            FROM uplink_readings r, json_each(r.readings) j;
        """
}
