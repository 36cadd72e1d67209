import Readings

/// The device windows one recorded batch touches, inside that batch's
/// transaction: each row of `window_accumulators` read once (by its key
/// index), the batch's readings folded into its series in memory, and
/// written back once when the batch ends. Like `DeviceSessionBatch`, a row
/// a recent batch read or wrote is taken from `StoredRowCache`, and a row it
/// knows is not there is not looked for.
struct WindowAccumulatorBatch {
    private let connection: SQLiteConnection
    private let cache: StoredRowCache
    /// Grace plus lateness: how long after its end a closed window may still take a reading.
    private let revisableMillis: Int64
    /// The batch's commit time: a window that ends after it cannot have a
    /// late reading, nor an aggregate to look up.
    private let now: EpochMillis

    /// A device's window: one row.
    struct Key: Hashable {
        var device: DeviceID
        var windowLength: Int64
        var windowStart: EpochMillis

        init(device: DeviceID, windowLength: Int64, windowStart: EpochMillis) {
            self.device = device
            self.windowLength = windowLength
            self.windowStart = windowStart
        }

        /// The device window a series' window belongs to.
        init(_ group: WindowGroup) {
            self.init(device: group.device, windowLength: group.windowLength, windowStart: group.windowStart)
        }

        var window: Window { Window(start: windowStart, length: windowLength) }
        var parameters: [SQLiteValue] { [.text(device), .integer(windowLength), .integer(windowStart)] }
        func group(_ series: WindowSeries) -> WindowGroup {
            WindowGroup(device: device, metric: series.metric, channel: series.channel, windowLength: windowLength, windowStart: windowStart)
        }
    }

    private struct Row {
        var id: Int64?
        var series: [WindowSeries] = []
        /// As stored: some series changed since the window last closed.
        var storedChanged = false
        var taken = false
    }

    /// The rows touched, in the order first touched (`slots` says whose row
    /// is where), changed in place (a copy taken out of a dictionary and put
    /// back copied its series array on every reading).
    private var rows: [Row] = []
    private var slots = BatchSlots<Key>()
    /// The last window a reading was too late for.
    private(set) var lateWindow: WindowGroup?

    /// Inside a `GatewayStore.transaction`, which checks the cache (`StoredRowCache.begin`).
    init(connection: SQLiteConnection, cache: StoredRowCache, revisableMillis: Int64, now: EpochMillis) {
        self.connection = connection
        self.cache = cache
        assert(cache.isValidated, "a batch outside GatewayStore.transaction")
        self.revisableMillis = revisableMillis
        self.now = now
    }

    /// Takes a reading of an uplink committed at `arrived` into its window.
    /// False: the reading is too late and stays out of it.
    mutating func take(_ reading: ReadingRow, arrived: EpochMillis) throws -> Bool {
        let r = reading.reading
        let key = Key(device: r.device, windowLength: reading.windowLength, windowStart: reading.windowStart)
        let slot = try load(key)
        let index: Int
        if let known = rows[slot].series.firstIndex(where: { $0.isSeries(r.metric, r.channel) }) {
            index = known
        } else {
            rows[slot].series.append(try newSeries(key, r.metric, r.channel))
            index = rows[slot].series.count - 1
        }
        let series = rows[slot].series[index]
        if series.closed, series.accumulator == nil || arrived > key.window.end(plus: revisableMillis) {
            lateWindow = key.group(series)
            return false
        }
        if series.accumulator == nil {
            rows[slot].series[index].accumulator = WindowAccumulator(time: r.time, value: r.value)
        } else {
            rows[slot].series[index].accumulator?.take(time: r.time, value: r.value)
        }
        rows[slot].series[index].changed = true
        rows[slot].taken = true
        return true
    }

    /// Writes the windows that took readings back (before the batch commits),
    /// and stages each for the cache as written. (A row that took none may
    /// hold, in memory, a series its row does not: it is not staged.)
    func write() throws {
        for (key, row) in zip(slots.keys, rows) where row.taken {
            let blob = SQLiteValue.blob(WindowSeriesCodec.encode(row.series))
            if let id = row.id {
                // `changed` is left out when it stays 1: that spares its index entry.
                if row.storedChanged {
                    try connection.run("UPDATE window_accumulators SET series = ? WHERE id = ?", [blob, .integer(id)])
                } else {
                    try connection.run("UPDATE window_accumulators SET series = ?, changed = 1 WHERE id = ?", [blob, .integer(id)])
                }
            } else {
                cache.noteAccumulatorRow(key)
                let values = key.parameters + [.integer(key.window.end(plus: 0)), blob]
                if try connection.run(Self.insertQuery, values) == 0 {
                    // No session row to refer to. Every outcome the pipeline
                    // makes notes its device's activity first, so this is a
                    // guard: a reading is never dropped for want of one. A
                    // bare row places frames as no row does (migration 17).
                    try connection.run("INSERT INTO device_sessions (device, session_start_id) VALUES (?, 0)", [.text(key.device)])
                    cache.noteSessionRow(key.device)
                    try connection.run(Self.insertQuery, values)
                }
            }
            if cache.isCopying { cache.stage(key, .init(id: row.id ?? connection.lastInsertRowID, series: row.series, changed: true)) }
        }
    }

    /// The device window's slot in `rows`, its row read once per batch.
    private mutating func load(_ key: Key) throws -> Int {
        if let slot = slots.find(key) { return slot }
        var row = Row()
        if let stored = try cache.accumulatorRow(key)
            ?? (cache.mayHaveAccumulatorRow(key, on: connection) ? Self.storedRow(key, on: connection) : nil) {
            row.id = stored.id
            row.series = stored.series
            row.storedChanged = stored.changed
        }
        rows.append(row)
        return slots.add(key)
    }

    /// A series the window's row does not hold yet. If the window has ended
    /// it may have been closed before, its accumulator row pruned since
    /// (`pruneAccumulators`) or never made (closed before migration 11): its
    /// aggregate says so. A reading still on time for it (an uplink requeued
    /// from quarantine keeps its commit time) takes up from the aggregate's
    /// statistics and exact sum; without a sum (an aggregate saved before
    /// migration 11) the series takes no more readings, and they are counted
    /// as too late. A window that has not ended yet was never closed.
    private func newSeries(_ key: Key, _ metric: Metric, _ channel: Int?) throws -> WindowSeries {
        var series = WindowSeries(metric: metric, channel: channel, accumulator: nil, changed: false, closed: false)
        guard key.window.end(plus: 0) <= now,
              let aggregate = try connection.query(Self.aggregateQuery, [.text(key.device), .text(metric.name), .integer(key.windowLength),
                                                                         .integer(key.windowStart), .channel(channel)]).first else { return series }
        series.closed = true
        if let high = aggregate[3].int, let low = aggregate[4].int {
            series.accumulator = WindowAccumulator(count: aggregate[0].int ?? 0, min: aggregate[1].int ?? 0, max: aggregate[2].int ?? 0,
                                                   sum: GatewayStore.sum(high: high, low: low),
                                                   last: aggregate[5].int ?? 0, lastTime: aggregate[6].int ?? 0)
        }
        return series
    }

    /// By window, then the device's session row (migration 17: rows go in as
    /// devices report); `key.parameters` are the device, length and start.
    static let lookupQuery = """
        SELECT id, series, changed FROM window_accumulators
        WHERE window_ms = ?2 AND window_start_ms = ?3 AND device_row = (SELECT id FROM device_sessions WHERE device = ?1)
        """

    /// Inserts nothing if the device has no session row (the caller makes one).
    static let insertQuery = """
        INSERT INTO window_accumulators (device, device_row, window_ms, window_start_ms, window_end_ms, series, changed)
        SELECT ?1, s.id, ?2, ?3, ?4, ?5, 1 FROM device_sessions s WHERE s.device = ?1
        """

    /// A device window's row as stored (and as `StoredRowCache` copies it).
    struct StoredRow: Equatable {
        var id: Int64
        var series: [WindowSeries]
        /// The row's `changed` column.
        var changed: Bool
    }

    /// A device window's row as stored (by its key index), nil if it has none.
    static func storedRow(_ key: Key, on connection: SQLiteConnection) throws -> StoredRow? {
        guard let row = try connection.query(lookupQuery, key.parameters).first, let id = row[0].int else { return nil }
        return StoredRow(id: id, series: try WindowSeriesCodec.decode(row[1].bytes ?? []), changed: row[2].int == 1)
    }

    static let aggregateQuery = """
        SELECT count, min, max, sum_high, sum_low, last, last_time_ms FROM aggregates
        WHERE source = ? AND metric = ? AND window_ms = ? AND window_start_ms = ? AND channel IS ? AND scope = 'device'
        """
}
