extension Schema {
    /// Migration 1, as the first release created it (released: never edit).
    static let initialTables = """
    CREATE TABLE uplinks (
        id            INTEGER PRIMARY KEY,      -- the uplink id in logs, readings, quarantine
        received_ms   INTEGER NOT NULL,         -- gateway clock at commit
        topic         TEXT    NOT NULL,
        message_hash  INTEGER NOT NULL,         -- FNV-1a of topic and message: redelivery check
        state         INTEGER NOT NULL DEFAULT 0, -- see UplinkState
        envelope      TEXT,
        device        TEXT,
        fcnt          INTEGER,
        fport         INTEGER,
        network_ms    INTEGER,
        frame_key     TEXT                      -- (device, fCnt) identity of the LoRaWAN frame
    );
    CREATE INDEX uplinks_by_hash ON uplinks(message_hash);
    CREATE INDEX uplinks_pending ON uplinks(id) WHERE state = 0;
    CREATE INDEX uplinks_by_frame ON uplinks(frame_key) WHERE frame_key IS NOT NULL;
    CREATE INDEX uplinks_by_device ON uplinks(device, id);

    -- The MQTT message exactly as it came, apart from its uplink row so
    -- that pruning raw bytes (oldest first) frees whole pages.
    CREATE TABLE uplink_messages (
        uplink_id INTEGER PRIMARY KEY REFERENCES uplinks(id),
        message   BLOB NOT NULL
    );

    CREATE TABLE device_sessions (
        device            TEXT PRIMARY KEY,
        session_start_id  INTEGER NOT NULL,     -- frames before this uplink belong to an old session
        last_fcnt         INTEGER
    ) WITHOUT ROWID;

    CREATE TABLE readings (
        id              INTEGER PRIMARY KEY,
        uplink_id       INTEGER NOT NULL REFERENCES uplinks(id),
        device          TEXT    NOT NULL,
        metric          TEXT    NOT NULL,
        channel         INTEGER,
        time_ms         INTEGER NOT NULL,
        value           INTEGER NOT NULL,       -- counts of the metric's canonical step
        window_ms       INTEGER NOT NULL,
        window_start_ms INTEGER NOT NULL,
        aggregated      INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX readings_unaggregated ON readings(window_start_ms) WHERE aggregated = 0;
    CREATE INDEX readings_by_window ON readings(device, metric, channel, window_ms, window_start_ms);
    CREATE INDEX readings_by_uplink ON readings(uplink_id);

    CREATE TABLE quarantine (
        id          INTEGER PRIMARY KEY,
        uplink_id   INTEGER NOT NULL REFERENCES uplinks(id),
        device      TEXT,
        category    TEXT    NOT NULL,
        reason      TEXT    NOT NULL,
        first_seen_ms INTEGER NOT NULL,
        last_seen_ms  INTEGER NOT NULL,
        count       INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX quarantine_by_uplink ON quarantine(uplink_id);

    CREATE TABLE aggregates (
        id              INTEGER PRIMARY KEY,
        window_key      TEXT    NOT NULL UNIQUE, -- source/metric[/channel]/start/length: the hub-side id
        source          TEXT    NOT NULL,
        kind            TEXT    NOT NULL,
        metric          TEXT    NOT NULL,
        channel         INTEGER,
        window_start_ms INTEGER NOT NULL,
        window_ms       INTEGER NOT NULL,
        count           INTEGER NOT NULL,
        min             INTEGER NOT NULL,
        max             INTEGER NOT NULL,
        mean            INTEGER NOT NULL,
        last            INTEGER NOT NULL,
        last_time_ms    INTEGER NOT NULL,
        revision        INTEGER NOT NULL DEFAULT 1,
        updated_ms      INTEGER NOT NULL
    );

    CREATE TABLE deliveries (
        hub          TEXT    NOT NULL,
        aggregate_id INTEGER NOT NULL REFERENCES aggregates(id),
        state        INTEGER NOT NULL,          -- see DeliveryState
        revision     INTEGER NOT NULL,          -- the aggregate revision this row is about
        attempts     INTEGER NOT NULL DEFAULT 0,
        hub_ref      TEXT,                      -- the hub's id or self-link once delivered
        last_error   TEXT,
        updated_ms   INTEGER NOT NULL,
        PRIMARY KEY (hub, aggregate_id)
    ) WITHOUT ROWID;
    CREATE INDEX deliveries_by_state ON deliveries(hub, state, aggregate_id);

    CREATE TABLE hub_refs (
        hub TEXT NOT NULL,
        key TEXT NOT NULL,
        ref TEXT NOT NULL,
        PRIMARY KEY (hub, key)
    ) WITHOUT ROWID;

    CREATE TABLE counters (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID;
    """
}
