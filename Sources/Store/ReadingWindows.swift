import Readings

/// A window of one series whose end plus grace has passed and that took
/// readings since it last closed, with its statistics so far.
public struct ClosableWindow: Sendable, Equatable {
    public var group: WindowGroup
    public var accumulator: WindowAccumulator
}

/// Readings and the windows they fall in.
///
/// An uplink's readings are one row of `uplink_readings` (`UplinkReadingsText`;
/// the `readings` view shows them a row each), found by its uplink only. Each window
/// of each series keeps a running accumulator (count, min, max, exact sum,
/// last), one row of `window_accumulators` per device window holding all its
/// series (`WindowSeriesCodec`), updated once per recorded batch in the
/// transaction that stores the readings, so closing a window reads one row
/// instead of its readings. (Index rows per reading, by device and window
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
    /// Series ready to close (changed, their window's end plus grace at or
    /// before `now`), oldest window first, from at most `limit` device windows.
    public func closableWindows(graceMillis: Int64, now: EpochMillis, limit: Int = 1000) throws -> [ClosableWindow] {
        try locked {
            var closable: [ClosableWindow] = []
            let (endedBy, overflow) = now.subtractingReportingOverflow(graceMillis)
            for row in try connection.query(Self.closableWindowsQuery, [.integer(overflow ? .min : endedBy), .integer(Int64(limit))]) {
                let key = WindowAccumulatorBatch.Key(device: row[0].string ?? "", windowLength: row[1].int ?? 0, windowStart: row[2].int ?? 0)
                for series in try WindowSeriesCodec.decode(row[3].bytes ?? []) where series.changed {
                    guard let accumulator = series.accumulator else { continue }
                    closable.append(ClosableWindow(group: key.group(series), accumulator: accumulator))
                }
            }
            return closable
        }
    }

    static let closableWindowsQuery = """
        SELECT device, window_ms, window_start_ms, series FROM window_accumulators
        WHERE changed = 1 AND window_end_ms <= ?
        ORDER BY window_end_ms LIMIT ?
        """

    /// A series' accumulator as stored, nil if it has none (for tests).
    public func accumulator(of group: WindowGroup) throws -> (accumulator: WindowAccumulator, changed: Bool, closed: Bool)? {
        try locked {
            guard let row = try WindowAccumulatorBatch.storedRow(.init(group), on: connection),
                  let series = row.series.first(where: { $0.isSeries(group.metric, group.channel) }),
                  let accumulator = series.accumulator else { return nil }
            return (accumulator, series.changed, series.closed)
        }
    }

    /// Marks the series of `records` closed, each with the statistics of its
    /// `count` readings (inside the transaction that saves their aggregates):
    /// one read and one write per device window, however many of its series
    /// closed. Readings taken after those were read leave a series changed,
    /// for the next revision; a row stays changed while any series is.
    /// Each row's copy in `rowCache` goes: the next batch reads the row.
    func markClosed(_ records: [AggregateRecord]) throws {
        var byWindow: [WindowAccumulatorBatch.Key: [AggregateRecord]] = [:]
        for record in records where record.scope == .device { byWindow[.init(record.group), default: []].append(record) }
        for (key, closing) in byWindow {
            rowCache.evictAccumulatorRow(key)
            guard var row = try WindowAccumulatorBatch.storedRow(key, on: connection) else { continue }
            for record in closing {
                guard let index = row.series.firstIndex(where: { $0.isSeries(record.group.metric, record.group.channel) }) else { continue }
                row.series[index].closed = true
                if row.series[index].accumulator?.count == record.statistics.count { row.series[index].changed = false }
            }
            try connection.run("UPDATE window_accumulators SET series = ?, changed = ? WHERE id = ?",
                               [.blob(WindowSeriesCodec.encode(row.series)), .integer(row.series.contains(where: \.changed) ? 1 : 0), .integer(row.id)])
        }
    }

    /// A device aggregate's exact sum, as stored: sum_high·2³² + sum_low.
    /// Written from Swift with sum_low in [0, 2³²) (|sum| < 2⁹⁵ for any count
    /// below 2³², so the high part fits); migration 11 writes sums of each
    /// reading's high and low 32 bits, which SQLite can add without overflow.
    /// Either reads back exactly.
    static func storedSum(_ sum: Int128) -> (high: SQLiteValue, low: SQLiteValue) {
        (.integer(Int64(truncatingIfNeeded: sum >> 32)), .integer(Int64(truncatingIfNeeded: sum & 0xFFFF_FFFF)))
    }

    static func sum(high: Int64, low: Int64) -> Int128 { (Int128(high) << 32) + Int128(low) }
}
