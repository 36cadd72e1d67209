import Readings

/// A window of one series whose end plus grace has passed and that took
/// readings since it last closed, with its statistics so far.
public struct ClosableWindow: Sendable, Equatable {
    public var group: WindowGroup
    public var accumulator: WindowAccumulator
}

/// Readings and the windows they fall in.
///
/// A reading is one row of `readings`, found by its uplink only. Each window
/// of each series keeps a running accumulator (`window_accumulators`: count,
/// min, max, exact sum, last), updated once per window per recorded batch in
/// the transaction that stores the readings, so closing a window reads one
/// row instead of its readings. (Index rows per reading, by device and window
/// and for the unaggregated ones, cost 2.8 KiB written and about 10 µs per
/// uplink under load: Benchmarks/RESULTS.md, issue 17.)
///
/// Whether a reading is too late is decided as it is recorded: its window was
/// closed before (it has an aggregate) and its uplink was committed after the
/// window's end plus grace plus lateness (`revisableMillis`). A late reading
/// is stored with `aggregated = 2` and left out of the accumulator; any
/// other reading has `aggregated = 0` and is in its window's accumulator.
/// (Rows from before migration 11 may say 1 for the same.)
extension GatewayStore {
    /// Stores an uplink's readings and takes each into its window (see
    /// above); returns how many were too late.
    func insert(_ readings: [ReadingRow], uplinkID id: Int64, windows: inout WindowAccumulatorBatch) throws -> Int {
        var late = 0
        for row in readings {
            let r = row.reading
            let taken = try windows.take(row, uplink: id)
            if !taken { late += 1 }
            try connection.run(
                """
                INSERT INTO readings (uplink_id, device, metric, channel, time_ms, value, window_ms, window_start_ms, aggregated)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [.integer(id), .text(r.device), .text(r.metric.name), .channel(r.channel),
                 .integer(r.time), .integer(r.value), .integer(row.windowLength), .integer(row.windowStart), .integer(taken ? 0 : 2)])
        }
        return late
    }

    /// Windows ready to close (`changed`, end plus grace at or before `now`), oldest first.
    public func closableWindows(graceMillis: Int64, now: EpochMillis, limit: Int = 1000) throws -> [ClosableWindow] {
        try locked {
            try connection.query(Self.closableWindowsQuery, [.integer(graceMillis), .integer(now), .integer(Int64(limit))]
            ).map { row in
                ClosableWindow(group: WindowGroup(device: row[0].string ?? "", metric: try Metric.stored(row[1]), channel: Self.channel(stored: row[2]),
                                                  windowLength: row[3].int ?? 0, windowStart: row[4].int ?? 0),
                               accumulator: Self.accumulator(row, from: 5))
            }
        }
    }

    static let closableWindowsQuery = """
        SELECT device, metric, channel, window_ms, window_start_ms, count, min, max, sum_high, sum_low, last, last_time_ms
        FROM window_accumulators WHERE changed = 1 AND window_start_ms + window_ms + ? <= ?
        ORDER BY window_start_ms LIMIT ?
        """

    /// The window's accumulator as stored, nil if it has none (for tests and `status`).
    public func accumulator(of group: WindowGroup) throws -> (accumulator: WindowAccumulator, changed: Bool, closed: Bool)? {
        try locked {
            try connection.query(WindowAccumulatorBatch.lookupQuery, Self.windowParameters(group)).first
                .map { (Self.accumulator($0, from: 0), $0[7].int == 1, $0[8].int == 1) }
        }
    }

    /// Windows that took readings since they last closed (closed or not yet).
    public func changedWindowCount() throws -> Int64 {
        try locked { try connection.scalar("SELECT count(*) FROM window_accumulators WHERE changed = 1") ?? 0 }
    }

    /// Marks a window closed with the statistics of `count` readings (inside
    /// the transaction that saves its aggregate). Readings taken after those
    /// were read leave it changed, for the next revision.
    func markClosed(_ group: WindowGroup, count: Int64) throws {
        try connection.run(
            "UPDATE window_accumulators SET closed = 1, changed = CASE WHEN count = ? THEN 0 ELSE 1 END WHERE \(Self.sameWindow)",
            [.integer(count)] + Self.windowParameters(group))
    }

    static let sameWindow = "device = ? AND metric = ? AND channel = ? AND window_ms = ? AND window_start_ms = ?"

    static func windowParameters(_ group: WindowGroup) -> [SQLiteValue] {
        [.text(group.device), .text(group.metric.name), .integer(storedChannel(group.channel)), .integer(group.windowLength), .integer(group.windowStart)]
    }

    /// The accumulator's channel column: the key has no NULL, so a series
    /// without a channel is -1 (channels are never negative: Cayenne channel
    /// bytes and the codecs' fixed probe numbers).
    static func storedChannel(_ channel: Int?) -> Int64 { channel.map { Int64($0) } ?? -1 }
    static func channel(stored value: SQLiteValue) -> Int? { value.int.flatMap { $0 < 0 ? nil : Int($0) } }

    /// An accumulator from the 7 columns count, min, max, sum_high, sum_low,
    /// last, last_time_ms starting at `first`. The exact sum is stored as
    /// sum_high·2³² + sum_low, which both the migration's SQL (as sums of each
    /// value's high and low 32 bits) and `WindowAccumulatorBatch` can write
    /// without overflow.
    static func accumulator(_ row: [SQLiteValue], from first: Int) -> WindowAccumulator {
        WindowAccumulator(count: row[first].int ?? 0, min: row[first + 1].int ?? 0, max: row[first + 2].int ?? 0,
                          sum: (Int128(row[first + 3].int ?? 0) << 32) + Int128(row[first + 4].int ?? 0),
                          last: row[first + 5].int ?? 0, lastTime: row[first + 6].int ?? 0)
    }
}

/// The windows one recorded batch touches, inside that batch's transaction:
/// each read from `window_accumulators` once, folded in memory as the
/// batch's readings go by, and written back once when the batch ends (at
/// most one lookup and one write per window a batch, instead of index rows
/// per reading). Like `DeviceSessionBatch`.
struct WindowAccumulatorBatch {
    private let connection: SQLiteConnection
    /// Grace plus lateness: how long after its end a closed window may still take a reading.
    private let revisableMillis: Int64

    private struct Entry {
        var accumulator: WindowAccumulator?
        /// As stored: the row exists and took readings since it last closed.
        var stored = false
        var storedChanged = false
        /// The window has an aggregate: a reading committed after its cutoff is too late.
        var closed = false
        var taken = false
    }

    private var windows: [WindowGroup: Entry] = [:]
    private var order: [WindowGroup] = []
    private var receivedAt: [Int64: EpochMillis] = [:]
    /// The last window a reading was too late for.
    private(set) var lateWindow: WindowGroup?

    init(connection: SQLiteConnection, revisableMillis: Int64) {
        self.connection = connection
        self.revisableMillis = revisableMillis
    }

    /// Takes a reading of uplink `uplink` into its window. False: the
    /// reading is too late and stays out of it.
    mutating func take(_ row: ReadingRow, uplink: Int64) throws -> Bool {
        let reading = row.reading
        let group = WindowGroup(device: reading.device, metric: reading.metric, channel: reading.channel,
                                windowLength: row.windowLength, windowStart: row.windowStart)
        var window = try load(group)
        if window.closed, try received(uplink) > group.window.end(plus: revisableMillis) {
            lateWindow = group
            return false
        }
        if window.accumulator == nil {
            window.accumulator = WindowAccumulator(time: reading.time, value: reading.value)
        } else {
            window.accumulator?.take(time: reading.time, value: reading.value)
        }
        window.taken = true
        windows[group] = window
        return true
    }

    /// Writes the windows that took readings back (before the batch commits).
    func write() throws {
        for group in order {
            guard let window = windows[group], window.taken, let accumulator = window.accumulator else { continue }
            let sum = accumulator.sum
            let values: [SQLiteValue] = [
                .integer(accumulator.count), .integer(accumulator.min), .integer(accumulator.max),
                // |sum| < 2^95 for any count below 2^32, so the high part fits.
                .integer(Int64(truncatingIfNeeded: sum >> 32)), .integer(Int64(truncatingIfNeeded: sum & 0xFFFF_FFFF)),
                .integer(accumulator.last), .integer(accumulator.lastTime)]
            if window.stored && window.storedChanged {
                // `changed` stays 1: leaving it out of the update spares its index entry.
                try connection.run(
                    """
                    UPDATE window_accumulators SET count = ?, min = ?, max = ?, sum_high = ?, sum_low = ?, last = ?, last_time_ms = ?
                    WHERE \(GatewayStore.sameWindow)
                    """, values + GatewayStore.windowParameters(group))
            } else {
                try connection.run(
                    """
                    INSERT INTO window_accumulators (count, min, max, sum_high, sum_low, last, last_time_ms, changed, closed,
                                                     device, metric, channel, window_ms, window_start_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (device, metric, channel, window_ms, window_start_ms) DO UPDATE SET
                        count = excluded.count, min = excluded.min, max = excluded.max, sum_high = excluded.sum_high,
                        sum_low = excluded.sum_low, last = excluded.last, last_time_ms = excluded.last_time_ms, changed = 1
                    """, values + [.integer(window.closed ? 1 : 0)] + GatewayStore.windowParameters(group))
            }
        }
    }

    /// The window as stored, read once per batch. A window without an
    /// accumulator that has an aggregate was closed long enough ago for its
    /// accumulator to be pruned (`pruneAccumulators`), or before the upgrade
    /// that added them: it is closed.
    private mutating func load(_ group: WindowGroup) throws -> Entry {
        if let known = windows[group] { return known }
        var window = Entry()
        if let row = try connection.query(Self.lookupQuery, GatewayStore.windowParameters(group)).first {
            window.accumulator = GatewayStore.accumulator(row, from: 0)
            window.stored = true
            window.storedChanged = row[7].int == 1
            window.closed = row[8].int == 1
        } else {
            window.closed = try connection.scalar(Self.aggregateQuery, [.text(group.device), .text(group.metric.name), .integer(group.windowLength), .integer(group.windowStart), .channel(group.channel)]) ?? 0 > 0
        }
        windows[group] = window
        order.append(group)
        return window
    }

    static let lookupQuery =
        "SELECT count, min, max, sum_high, sum_low, last, last_time_ms, changed, closed FROM window_accumulators WHERE \(GatewayStore.sameWindow)"

    static let aggregateQuery = """
        SELECT count(*) FROM aggregates WHERE source = ? AND metric = ? AND window_ms = ? AND window_start_ms = ?
          AND channel IS ? AND scope = 'device'
        """

    /// When the uplink was committed (its row is in this transaction or before).
    private mutating func received(_ uplink: Int64) throws -> EpochMillis {
        if let known = receivedAt[uplink] { return known }
        let time = try connection.scalar("SELECT received_ms FROM uplinks WHERE id = ?", [.integer(uplink)]) ?? 0
        receivedAt[uplink] = time
        return time
    }
}
