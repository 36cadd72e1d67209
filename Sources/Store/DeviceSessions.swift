import Readings

/// A device's row in `device_sessions` as a batch reads it: its frame-counter
/// session and its open windows (and as `StoredRowCache` copies it).
struct StoredDeviceRow: Equatable {
    var session: DeviceSession
    /// As the row keeps them (`OpenWindows.stored`).
    var windows: OpenWindows
}

/// The rows of the devices one processing batch touches, inside that
/// batch's transaction. A device's row in `device_sessions` holds its
/// frame-counter session, what the session remembers of the frames it kept
/// (`RecentFrames`, how a copy is recognised), its activity (uplinks
/// recorded, the last arrival: what the silent-device check and `status`
/// read), and its open windows with their running accumulators
/// (`OpenWindows`). Each row is read once, changed in memory as the batch's
/// frames, readings and joins go by, and written back once when the batch
/// ends: at most one lookup and one upsert per device a batch, instead of one
/// of each per uplink, and one row (one page) per device rather than one in
/// each of three tables, which with 100,000 devices sending was a page each
/// per uplink (Benchmarks/RESULTS.md, issue 17). A row a recent batch read or
/// wrote is not read again: `StoredRowCache` has its copy, and a row it knows
/// is not there is not looked for. The rules that change a session are
/// `FrameDeduplication`'s; those of a window, `OpenWindows`'.
struct DeviceSessionBatch {
    private let connection: SQLiteConnection
    private let cache: StoredRowCache
    /// Grace plus lateness: how long after its end a closed window may still take a reading.
    private let revisableMillis: Int64
    /// The latest window end closing has reached (`closing_state`), read
    /// when the batch first takes a reading: a window that ends after it was
    /// never closed, so has no aggregate to look up. (Not the clock: an edge
    /// box's clock may step back, and a window then taken for never closed
    /// would be published again from its new readings alone.)
    private var closedThrough: EpochMillis?

    /// What the batch knows and did of one device.
    private struct Entry {
        /// nil: not read yet; .some(nil): the table has no row for it.
        var session: DeviceSession?? = nil
        var changed = false
        /// As read, then changed in place (may hold series the row does not keep).
        var windows = OpenWindows()
        var windowsChanged = false
        /// A series was added in memory that the row does not keep (a reading
        /// too late for it): `windows` then differs from the row's.
        var windowsGrown = false
        /// The row's `open_until_ms` as read.
        var storedOpenUntil: EpochMillis?
        /// Uplinks recorded in this batch and the latest arrival among them.
        var uplinks: Int64 = 0
        var lastSeen: EpochMillis?
    }

    /// The devices touched, in the order first touched (`slots` says whose
    /// entry is where): one lookup by id per call (three sets keyed by device
    /// hashed each id up to six times an uplink).
    private var entries: [Entry] = []
    private var slots = BatchSlots<DeviceID>()
    /// The last window a reading was too late for.
    private(set) var lateWindow: WindowGroup?

    /// Inside a `GatewayStore.transaction`, which checks the cache (`StoredRowCache.begin`).
    /// `expectedDevices`: about how many devices the batch will touch (its
    /// uplinks, at most), so its lookups are sized once rather than grown.
    init(connection: SQLiteConnection, cache: StoredRowCache, revisableMillis: Int64, expectedDevices: Int = 0) {
        self.connection = connection
        self.cache = cache
        assert(cache.isValidated, "a batch outside GatewayStore.transaction")
        self.revisableMillis = revisableMillis
        entries.reserveCapacity(expectedDevices)
        slots.reserveCapacity(expectedDevices)
    }

    private mutating func slot(_ device: DeviceID) -> Int {
        if let slot = slots.find(device) { return slot }
        entries.append(Entry())
        return slots.add(device)
    }

    /// The device's slot, its row read (once per batch).
    private mutating func loaded(_ device: DeviceID) throws -> Int {
        let slot = slot(device)
        if entries[slot].session != nil { return slot }
        let row = try cache.row(device)
            ?? (cache.mayHaveSession(device, on: connection) ? Self.storedRow(device, on: connection) : nil)
        entries[slot].session = .some(row?.session)
        entries[slot].windows = row?.windows ?? OpenWindows()
        entries[slot].storedOpenUntil = row?.windows.earliestEnd
        return slot
    }

    /// The device's session as of the frames recorded so far; nil if it has none.
    mutating func current(_ device: DeviceID) throws -> DeviceSession? {
        entries[try loaded(device)].session ?? nil
    }

    /// The device's row as stored; nil if it has none.
    static func storedRow(_ device: DeviceID, on connection: SQLiteConnection) throws -> StoredDeviceRow? {
        let row = try connection.query(storedRowQuery, [.text(device)]).first
        return try row.map { row in
            StoredDeviceRow(session: DeviceSession(start: row[0].int ?? 0, lastFCnt: row[1].int,
                                                   recent: try row[2].bytes.map(RecentFramesCodec.decode) ?? RecentFrames()),
                            windows: try OpenWindowsCodec.decode(row[3].bytes))
        }
    }

    static let storedRowQuery = "SELECT session_start_id, last_fcnt, recent_frames, open_windows FROM device_sessions WHERE device = ?"

    /// Replaces the device's session (a frame kept, a copy forgotten).
    mutating func set(_ device: DeviceID, _ session: DeviceSession) throws {
        let slot = try loaded(device)
        entries[slot].session = .some(session)
        entries[slot].changed = true
    }

    /// A join: the session starts at uplink `id`, with no counter yet (the
    /// fingerprints of counterless frames are not the session's: they stay).
    mutating func startSession(_ device: DeviceID, at id: Int64) throws {
        let fingerprints = try current(device)?.recent.fingerprints ?? []
        try set(device, DeviceSession(start: id, lastFCnt: nil, recent: RecentFrames(fingerprints: fingerprints)))
    }

    /// One more uplink of `device`, committed at `arrived`.
    mutating func noteActivity(_ device: DeviceID, arrived: EpochMillis) {
        let slot = slot(device)
        entries[slot].uplinks += 1
        entries[slot].lastSeen = max(entries[slot].lastSeen ?? arrived, arrived)
    }

    /// Takes a reading of an uplink committed at `arrived` into its window
    /// (`OpenWindows.take`). False: the reading is too late and stays out of it.
    mutating func take(_ reading: ReadingRow, arrived: EpochMillis) throws -> Bool {
        let device = reading.reading.device
        let slot = try loaded(device)
        let closedThrough = try closedThrough ?? GatewayStore.closedThrough(on: connection)
        self.closedThrough = closedThrough
        let connection = connection
        let (taken, series) = try entries[slot].windows.take(reading, arrived: arrived, revisableMillis: revisableMillis) { window, metric, channel in
            try Self.newSeries(device, window, metric, channel, closedThrough: closedThrough, on: connection)
        }
        if taken {
            entries[slot].windowsChanged = true
        } else {
            entries[slot].windowsGrown = true
            lateWindow = WindowGroup(device: device, metric: series.metric, channel: series.channel,
                                     windowLength: reading.windowLength, windowStart: reading.windowStart)
        }
        return taken
    }

    /// A series the device's row does not hold. If its window has ended it
    /// may have closed before, its series gone from the row when it closed
    /// unchanged (or before migration 18, its accumulator pruned): its
    /// aggregate says so. A reading still on time for it (a late uplink, or
    /// one requeued from quarantine, which keeps its commit time) takes up
    /// from the aggregate's statistics and exact sum; without a sum (an
    /// aggregate saved before migration 11) the series takes no more
    /// readings, and they are counted as too late. A window that ends after
    /// `closedThrough` was never closed.
    private static func newSeries(_ device: DeviceID, _ window: Window, _ metric: Metric, _ channel: Int?, closedThrough: EpochMillis,
                                  on connection: SQLiteConnection) throws -> WindowSeries {
        var series = WindowSeries(metric: metric, channel: channel, accumulator: nil, changed: false, closed: false)
        guard window.end(plus: 0) <= closedThrough, let closed = try closedSeries(device, window, metric, channel, on: connection) else { return series }
        series.closed = true
        series.accumulator = closed
        return series
    }

    /// A closed series' statistics as its device aggregate holds them:
    /// `.some(nil)` when the aggregate has no exact sum, nil when there is none.
    static func closedSeries(_ device: DeviceID, _ window: Window, _ metric: Metric, _ channel: Int?,
                             on connection: SQLiteConnection) throws -> WindowAccumulator?? {
        guard let aggregate = try connection.query(aggregateQuery, [.text(device), .text(metric.name), .integer(window.length),
                                                                    .integer(window.start), .channel(channel)]).first else { return nil }
        guard let high = aggregate[3].int, let low = aggregate[4].int else { return .some(nil) }
        return WindowAccumulator(count: aggregate[0].int ?? 0, min: aggregate[1].int ?? 0, max: aggregate[2].int ?? 0,
                                 sum: GatewayStore.sum(high: high, low: low), last: aggregate[5].int ?? 0, lastTime: aggregate[6].int ?? 0)
    }

    static let aggregateQuery = """
        SELECT count, min, max, sum_high, sum_low, last, last_time_ms FROM aggregates
        WHERE source = ? AND metric = ? AND window_ms = ? AND window_start_ms = ? AND channel IS ? AND scope = 'device'
        """

    /// Writes the changed rows back (before the batch commits): a row whose
    /// session or windows changed whole, with the batch's activity added; a
    /// row where neither did, only its activity (it may not have been read).
    /// Every row the batch read is staged for the cache as it now stands.
    /// One upsert per row, not a multi-row one (see `MultiRowInsert`).
    func write() throws {
        for (device, entry) in zip(slots.keys, entries) {
            let lastSeen: SQLiteValue = entry.lastSeen.map { .integer($0) } ?? .null
            if entry.changed || entry.uplinks > 0 || entry.windowsChanged { cache.noteSessionRow(device) }
            guard case let .some(read) = entry.session else {
                if entry.uplinks > 0 { try connection.run(Self.upsertActivity, [.text(device), .integer(entry.uplinks), lastSeen]) }
                continue
            }
            // Windows as read are already as the row keeps them: the filtered copy only when they changed.
            let windows = entry.windowsChanged || entry.windowsGrown ? entry.windows.stored : entry.windows
            if entry.changed || entry.windowsChanged {
                // The row as an activity-only insert would make it, when there was none.
                let session = read ?? DeviceSession(start: 0, lastFCnt: nil)
                // `open_until_ms` is left out when it stays: that spares its index entry.
                try connection.run(
                    windows.earliestEnd == entry.storedOpenUntil ? Self.upsertRow : Self.upsertRowAndOpenUntil,
                    [.text(device), .integer(session.start), session.lastFCnt.map { .integer($0) } ?? .null,
                     .blob(RecentFramesCodec.encode(session.recent)), .integer(entry.uplinks), lastSeen]
                        + OpenWindowsCodec.columns(windows))
                cache.stage(device, StoredDeviceRow(session: session, windows: windows))
            } else {
                if entry.uplinks > 0 { try connection.run(Self.upsertActivity, [.text(device), .integer(entry.uplinks), lastSeen]) }
                // A row read is copied as read; none read stays uncopied.
                if let session = read { cache.stage(device, StoredDeviceRow(session: session, windows: windows)) }
            }
        }
    }

    /// Made once: interpolated at each call, the text was built and hashed anew.
    private static let upsertRow = """
        INSERT INTO device_sessions (device, session_start_id, last_fcnt, recent_frames, uplinks, last_seen_ms, open_windows, open_until_ms)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(device) DO UPDATE SET session_start_id = excluded.session_start_id, last_fcnt = excluded.last_fcnt,
            recent_frames = excluded.recent_frames, open_windows = excluded.open_windows, \(addActivity)
        """
    private static let upsertRowAndOpenUntil = """
        INSERT INTO device_sessions (device, session_start_id, last_fcnt, recent_frames, uplinks, last_seen_ms, open_windows, open_until_ms)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(device) DO UPDATE SET session_start_id = excluded.session_start_id, last_fcnt = excluded.last_fcnt,
            recent_frames = excluded.recent_frames, open_windows = excluded.open_windows, open_until_ms = excluded.open_until_ms, \(addActivity)
        """
    private static let upsertActivity = """
        INSERT INTO device_sessions (device, session_start_id, uplinks, last_seen_ms) VALUES (?, 0, ?, ?)
        ON CONFLICT(device) DO UPDATE SET \(addActivity)
        """

    /// The upsert's activity: uplinks added, the later of the two arrivals (either may be NULL).
    private static let addActivity = """
        uplinks = uplinks + excluded.uplinks, \
        last_seen_ms = max(coalesce(last_seen_ms, excluded.last_seen_ms), coalesce(excluded.last_seen_ms, last_seen_ms))
        """
}
