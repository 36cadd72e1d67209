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

    /// The window's accumulator as stored, nil if it has none (for tests).
    public func accumulator(of group: WindowGroup) throws -> (accumulator: WindowAccumulator, changed: Bool, closed: Bool)? {
        try locked {
            try connection.query(WindowAccumulatorBatch.lookupQuery, Self.windowParameters(group)).first
                .map { (Self.accumulator($0, from: 0), $0[7].int == 1, $0[8].int == 1) }
        }
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
    /// The exact sum as written from Swift: sum_high·2³² + sum_low, sum_low in
    /// [0, 2³²); |sum| < 2⁹⁵ for any count below 2³², so the high part fits.
    /// The upsert that adds a batch's fold onto a row, and migration 11, add
    /// such parts up and leave sum_low larger (by under 2³² per batch, so
    /// 2³¹ batches into one window before it could overflow); any pair reads
    /// back exactly, and a read-and-write rewrites it in this form.
    static func storedSum(_ sum: Int128) -> (high: SQLiteValue, low: SQLiteValue) {
        (.integer(Int64(truncatingIfNeeded: sum >> 32)), .integer(Int64(truncatingIfNeeded: sum & 0xFFFF_FFFF)))
    }

    static func accumulator(_ row: [SQLiteValue], from first: Int) -> WindowAccumulator {
        WindowAccumulator(count: row[first].int ?? 0, min: row[first + 1].int ?? 0, max: row[first + 2].int ?? 0,
                          sum: (Int128(row[first + 3].int ?? 0) << 32) + Int128(row[first + 4].int ?? 0),
                          last: row[first + 5].int ?? 0, lastTime: row[first + 6].int ?? 0)
    }
}
