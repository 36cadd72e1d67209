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
/// the `readings` view shows them a row each), found by its uplink only. Each
/// window of each series keeps a running accumulator (count, min, max, exact
/// sum, last) while it is open: in its device's session row (`OpenWindows`,
/// migration 18), updated by the batch that stores the readings, so closing
/// a window reads that row instead of its readings. (Index rows per reading
/// cost 2.8 KiB written and about 10 µs per uplink under load, and a row per
/// device window 7 µs more with 100,000 devices: Benchmarks/RESULTS.md,
/// issue 17.) Once a series closes and takes no more readings, its aggregate
/// is its state: a reading still on time takes up from it.
///
/// Whether a reading is too late is decided as it is recorded: its window was
/// closed before (it has an aggregate) and its uplink was committed after the
/// window's end plus grace plus lateness (`revisableMillis`). A late reading
/// is stored with `aggregated = 2` and left out of the accumulator; any
/// other reading has `aggregated = 0` and is in its window's accumulator.
/// (Rows from before migration 11 may say 1 for the same.)
extension GatewayStore {
    /// Series ready to close (changed, their window's end plus grace at or
    /// before `now`), oldest window first, from the rows of at most `limit`
    /// devices (each row's windows that ended, however many).
    public func closableWindows(graceMillis: Int64, now: EpochMillis, limit: Int = 1000) throws -> [ClosableWindow] {
        try locked {
            var closable: [(end: EpochMillis, window: ClosableWindow)] = []
            let (difference, overflow) = now.subtractingReportingOverflow(graceMillis)
            let endedBy = overflow ? .min : difference
            for row in try connection.query(Self.closableWindowsQuery, [.integer(endedBy), .integer(Int64(limit))]) {
                let device = row[0].string ?? ""
                for window in try OpenWindowsCodec.decode(row[1].bytes).windows where window.end <= endedBy {
                    for series in window.series where series.changed {
                        guard let accumulator = series.accumulator else { continue }
                        closable.append((window.end, ClosableWindow(group: window.group(device, series), accumulator: accumulator)))
                    }
                }
            }
            // Stable: a device's series stay in their order.
            return closable.enumerated().sorted { ($0.element.end, $0.offset) < ($1.element.end, $1.offset) }.map(\.element.window)
        }
    }

    /// The rows whose earliest open window has ended, by their partial index.
    static let closableWindowsQuery = """
        SELECT device, open_windows FROM device_sessions
        WHERE open_until_ms <= ?
        ORDER BY open_until_ms LIMIT ?
        """

    /// A series' accumulator as a reading would find it, nil if it has none
    /// (for tests): in its device's open windows; else, once closed and
    /// unchanged since, as its aggregate holds it (with its exact sum).
    public func accumulator(of group: WindowGroup) throws -> (accumulator: WindowAccumulator, changed: Bool, closed: Bool)? {
        try locked {
            if let windows = try DeviceSessionBatch.storedRow(group.device, on: connection)?.windows, let (w, s) = windows.index(of: group),
               let accumulator = windows.windows[w].series[s].accumulator {
                return (accumulator, windows.windows[w].series[s].changed, windows.windows[w].series[s].closed)
            }
            let window = Window(start: group.windowStart, length: group.windowLength)
            guard case let accumulator?? = try DeviceSessionBatch.closedSeries(group.device, window, group.metric, group.channel, on: connection)
            else { return nil }
            return (accumulator, false, true)
        }
    }

    /// Marks the series of `records` closed, each with the statistics of its
    /// `count` readings (inside the transaction that saves their aggregates):
    /// one read and one write per device, however many of its windows and
    /// series closed. Readings taken after those were read leave a series
    /// changed, for the next revision; the others leave the row (their
    /// aggregate is their state), and with them a window whose series all
    /// closed. Each row's copy in `rowCache` goes: the next batch reads it.
    /// `closing_state` moves up to the latest window end closed. (Closing
    /// passes each device record's exact sum, `WindowClosing`, which its
    /// aggregate keeps: without it a series that leaves the row could take
    /// no more readings.)
    func markClosed(_ records: [AggregateRecord]) throws {
        var byDevice: [DeviceID: [AggregateRecord]] = [:]
        var latestEnd = EpochMillis.min
        for record in records where record.scope == .device {
            byDevice[record.group.device, default: []].append(record)
            latestEnd = max(latestEnd, Window(start: record.group.windowStart, length: record.group.windowLength).end(plus: 0))
        }
        if latestEnd > .min {
            try connection.run("UPDATE closing_state SET closed_through_ms = max(closed_through_ms, ?)", [.integer(latestEnd)])
        }
        for (device, closing) in byDevice {
            rowCache.evict(device)
            guard let row = try connection.query("SELECT id, open_windows FROM device_sessions WHERE device = ?", [.text(device)]).first,
                  let id = row[0].int else { continue }
            var windows = try OpenWindowsCodec.decode(row[1].bytes)
            guard windows.markClosed(closing) else { continue }
            try connection.run(OpenWindowsCodec.update, OpenWindowsCodec.columns(windows.stored) + [.integer(id)])
        }
    }

    /// The latest window end closing has reached (every device aggregate's
    /// window ends at or before it; kept by `markClosed`).
    static func closedThrough(on connection: SQLiteConnection) throws -> EpochMillis {
        try connection.scalar("SELECT closed_through_ms FROM closing_state") ?? .max
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
