import Readings

/// The database schema as an ordered list of migrations. `PRAGMA user_version`
/// holds how many have been applied; each runs in its own transaction at open.
/// Never edit a released migration: append a new one.
enum Schema {
    /// One step: SQL, or a check in Swift over what is stored.
    enum Migration: Sendable {
        case sql(String)
        case check(@Sendable (SQLiteConnection) throws -> Void)
    }

    static let migrations: [Migration] = [
        // 1: raw uplinks, readings, quarantine, aggregates and the delivery ledger.
        .sql(initialTables),
        // 2: pruning by retention and size looks aggregates up by series and
        // window. (Old uplinks are found in id order, which is arrival order:
        // an index on time would cost every ingest commit another page write.)
        .sql("""
        CREATE INDEX aggregates_by_series ON aggregates(source, metric, window_ms, window_start_ms);
        """),
        // 3: zone roll-ups (a zone's or station's devices over one window) live
        // beside the per-device aggregates; readings.aggregated = 2 marks a
        // reading that came later than the lateness allows (stored, counted,
        // never aggregated).
        .sql("""
        ALTER TABLE aggregates ADD COLUMN scope TEXT NOT NULL DEFAULT 'device'; -- 'device' or 'zone'
        ALTER TABLE aggregates ADD COLUMN zone TEXT;        -- device: its roll-up group; zone: the group's name
        ALTER TABLE aggregates ADD COLUMN members INTEGER;  -- zone: devices rolled up
        ALTER TABLE aggregates ADD COLUMN total INTEGER;    -- zone: exact sum of the member values
        ALTER TABLE aggregates ADD COLUMN rollup_pending INTEGER NOT NULL DEFAULT 0; -- device: its zone roll-up needs (re)computing
        CREATE INDEX aggregates_rollup_pending ON aggregates(window_start_ms) WHERE rollup_pending = 1;
        -- Devices known by a codec rule, not listed in the registry: what the rule made them.
        CREATE TABLE rule_devices (
            device TEXT PRIMARY KEY,
            kind   TEXT NOT NULL,
            zone   TEXT
        ) WITHOUT ROWID;
        CREATE INDEX aggregates_by_zone ON aggregates(zone, kind, metric, window_ms, window_start_ms) WHERE scope = 'device';
        """),
        // 4: a device's readings of one window are found by device and window
        // alone (the metric and channel are filtered from those few rows). Led
        // by the metric too, the index had a page being appended to for every
        // series (device × metric × channel), and a processing batch wrote each
        // of them: one per reading under load. By device, the readings of a
        // batch share a page per device (the bytes it saves per uplink are in
        // Benchmarks/RESULTS.md, third load-test round).
        .sql("""
        DROP INDEX readings_by_window;
        CREATE INDEX readings_by_device_window ON readings(device, window_ms, window_start_ms);
        """),
        // 5: see checkStoredNames.
        .check(checkStoredNames),
        // 6: the MQTT packet identifier of a QoS 1 message (NULL for QoS 0):
        // a broker's redelivery is recognised by it, not by bytes alone (see
        // BrokerDelivery).
        .sql("ALTER TABLE uplinks ADD COLUMN packet_id INTEGER;"),
        // 7: a quarantined uplink's source (its device, else its topic): a
        // flood from one source keeps a few samples and counts the rest
        // (`count`), see `insertQuarantine`.
        .sql("""
        ALTER TABLE quarantine ADD COLUMN source TEXT;
        CREATE INDEX quarantine_by_source ON quarantine(source, category, last_seen_ms);
        CREATE INDEX quarantine_by_last_seen ON quarantine(last_seen_ms);
        """),
        // 8: per device, uplinks recorded and the last arrival, kept as they
        // are recorded: the silent-device check and `status` read this table
        // instead of grouping every uplink row (minutes, under the writer,
        // with a year of rows). Filled once from the rows there are.
        .sql("""
        CREATE TABLE device_activity (
            device       TEXT PRIMARY KEY,
            uplinks      INTEGER NOT NULL,
            last_seen_ms INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO device_activity (device, uplinks, last_seen_ms)
            SELECT device, count(*), max(received_ms) FROM uplinks WHERE device IS NOT NULL GROUP BY device;
        """),
        // 9: the redelivery check finds a message by its packet identifier in
        // `recent_packets` (one row per identifier, the last QoS 1 message
        // that came with it), not by a hash over every uplink: the hash index
        // took a random page per message, 1.6 KiB of WAL per uplink with
        // 50,000 rows and up to a page (4 KiB) with millions (figures in
        // Benchmarks/RESULTS.md, issue 17). A broker resends only a message
        // it has no PUBACK for, and reuses an identifier only after the
        // PUBACK, so the message it resends is the last one stored under that
        // identifier. (A message committed before migration 6 kept no
        // identifier; were one resent after this upgrade it would be stored
        // again and caught as a duplicate frame by its counter.)
        .sql("""
        CREATE TABLE recent_packets (
            packet_id INTEGER PRIMARY KEY,          -- the MQTT packet identifier, 1...65535
            uplink_id INTEGER NOT NULL               -- the last uplink committed with it (no foreign key: pruning may remove it)
        );
        INSERT OR REPLACE INTO recent_packets (packet_id, uplink_id)
            SELECT packet_id, id FROM uplinks WHERE packet_id IS NOT NULL ORDER BY id;
        DROP INDEX uplinks_by_hash;
        """),
        // 10: one index finds a frame's earlier copies, decoded or
        // quarantined: quarantined frames with a counter carry their frame key
        // too, and `uplinks_by_device` (which served only the quarantined-copy
        // check) goes. Both indexes are keyed by device, so a processing batch
        // wrote a page of each per device it touched (figures in
        // Benchmarks/RESULTS.md, issue 17).
        .sql("""
        UPDATE uplinks SET frame_key = device || '/' || fcnt WHERE state = 2 AND device IS NOT NULL AND fcnt IS NOT NULL;
        DROP INDEX uplinks_by_frame;
        DROP INDEX uplinks_by_device;
        CREATE INDEX uplinks_by_frame ON uplinks(frame_key, state) WHERE frame_key IS NOT NULL;
        """),
        // 11: each window keeps running accumulators; see `migrateToWindowAccumulators`.
        .check(migrateToWindowAccumulators),
        // 12: a device's session row remembers the frames it kept and holds
        // its activity; `uplinks_by_frame` and `device_activity` go; see
        // `migrateToRecentFrames`.
        .check(migrateToRecentFrames),
        // 13: an uplink's readings are one row of `uplink_readings`, and
        // `readings` a view over them; see `uplinkReadings`.
        .sql(uplinkReadings),
        // 14: raw messages may be stored compressed against a dictionary of
        // earlier messages (`RawMessageCompression`): a ChirpStack message of
        // 1.2 KB was about 2.8 KiB written (WAL, then checkpoint), most of
        // an uplink's bytes. Rows from before stay as they came.
        .sql("""
        CREATE TABLE raw_dictionaries (
            id         INTEGER PRIMARY KEY,
            created_ms INTEGER NOT NULL,
            bytes      BLOB NOT NULL                  -- earlier messages, newest last (RawMessageDictionary)
        );
        ALTER TABLE uplink_messages ADD COLUMN dictionary INTEGER REFERENCES raw_dictionaries(id);  -- NULL: as it came; else an LZ4 block (RawMessageCodec)
        """),
        // 15: the redelivery hint is `MessageHash`, eight bytes a step, not
        // FNV-1a; see `rehashRecentMessages`.
        .check(rehashRecentMessages),
        // 16: sessions in the order devices report, not device order; see `sessionsInReportOrder`.
        .sql(sessionsInReportOrder),
        // 17: accumulators keyed by window and session row, in report order; see `accumulatorsInReportOrder`.
        .sql(accumulatorsInReportOrder),
        // 18: a device's open windows live in its session row; see `migrateToOpenWindows`.
        .check(migrateToOpenWindows),
    ]

    static var version: Int { migrations.count }

    /// Applies the migrations a database lacks, each in its own transaction.
    static func migrate(_ connection: SQLiteConnection) throws {
        let current = Int(try connection.scalar("PRAGMA user_version") ?? 0)
        guard current <= version else {
            throw SQLiteError(code: 1, message: "database schema version \(current) is newer than this citygate (\(version))", sql: nil)
        }
        for step in current..<version {
            try connection.transaction {
                try apply(migrations[step], to: connection)
                try connection.execute("PRAGMA user_version = \(step + 1)")
            }
        }
    }

    static func apply(_ migration: Migration, to connection: SQLiteConnection) throws {
        switch migration {
        case let .sql(sql): try connection.execute(sql)
        case let .check(check): try check(connection)
        }
    }

    /// Migration 5: metric and sensor-kind names are read back as checked enums
    /// (`Metric.stored`, `SensorKind.stored`): a name this release does not
    /// know fails the migration, naming it, rather than being skipped later
    /// (an unknown metric once made window closing spin). The names stay
    /// text: `sqlite3` shows an operator what is stored, and hub ids are built
    /// from them anyway.
    static func checkStoredNames(_ connection: SQLiteConnection) throws {
        let checks: [(String, (String) -> Bool)] = [
            ("SELECT DISTINCT metric FROM readings", { Metric.named($0) != nil }),
            ("SELECT DISTINCT metric FROM aggregates", { Metric.named($0) != nil }),
            ("SELECT DISTINCT kind FROM aggregates", { SensorKind(rawValue: $0) != nil }),
            ("SELECT DISTINCT kind FROM rule_devices", { SensorKind(rawValue: $0) != nil }),
        ]
        for (sql, isKnown) in checks {
            for row in try connection.query(sql) where !isKnown(row[0].string ?? "") {
                throw SQLiteError(code: 1, message: "migration 5: unknown name '\(row[0].string ?? "NULL")' (\(sql))", sql: nil)
            }
        }
    }
}
