import Readings

/// A device window with series that took readings since they last closed:
/// open, or closed and revised since.
struct OpenWindow: Equatable {
    var windowLength: Int64
    var windowStart: EpochMillis
    var series: [WindowSeries]

    var window: Window { Window(start: windowStart, length: windowLength) }
    /// Start plus length, saturating: what closing asks.
    var end: EpochMillis { window.end(plus: 0) }

    func isWindow(length: Int64, start: EpochMillis) -> Bool { windowStart == start && windowLength == length }

    func group(_ device: DeviceID, _ series: WindowSeries) -> WindowGroup {
        WindowGroup(device: device, metric: series.metric, channel: series.channel, windowLength: windowLength, windowStart: windowStart)
    }
}

/// A device's open windows, kept in its session row (`open_windows`,
/// migration 18), which every batch the device reports in reads and writes
/// anyway: a reading's window costs no row of its own. (A row per device
/// window was about 7 µs and 1.5 KiB written per uplink with 100,000 devices
/// sending, most of the difference to 100 devices: Benchmarks/RESULTS.md,
/// issue 17, twelfth and thirteenth steps.)
///
/// The row keeps only *changed* series: a series that closed and took no
/// reading since is its aggregate, which holds its statistics and exact sum,
/// so a reading still on time takes up from there (`take`, `newSeries`).
/// A window goes from the row when its last series closes unchanged.
/// Pure: the lookup of an aggregate is the caller's.
struct OpenWindows: Equatable {
    var windows: [OpenWindow] = []

    /// As the row keeps them: changed series only, windows without one gone.
    var stored: OpenWindows {
        var kept = self
        kept.windows = windows.compactMap { window in
            var window = window
            window.series.removeAll { !$0.changed || $0.accumulator == nil }
            return window.series.isEmpty ? nil : window
        }
        return kept
    }

    /// The earliest end among these windows; of the `stored` ones, the row's
    /// `open_until_ms` (indexed: closing asks for the rows whose earliest
    /// window has ended). Nil if none.
    var earliestEnd: EpochMillis? { windows.lazy.map(\.end).min() }

    var isEmpty: Bool { windows.isEmpty }

    /// Takes a reading of an uplink committed at `arrived` into its window.
    /// False: the reading is too late (its series closed and the uplink came
    /// after end + `revisableMillis`, or its aggregate has no exact sum) and
    /// stays out of it. `newSeries` makes a series the row does not hold.
    mutating func take(_ reading: ReadingRow, arrived: EpochMillis, revisableMillis: Int64,
                       newSeries: (Window, Metric, Int?) throws -> WindowSeries) throws -> (taken: Bool, series: WindowSeries) {
        let r = reading.reading
        let w: Int
        if let known = windows.firstIndex(where: { $0.isWindow(length: reading.windowLength, start: reading.windowStart) }) {
            w = known
        } else {
            windows.append(OpenWindow(windowLength: reading.windowLength, windowStart: reading.windowStart, series: []))
            w = windows.count - 1
        }
        let s: Int
        if let known = windows[w].series.firstIndex(where: { $0.isSeries(r.metric, r.channel) }) {
            s = known
        } else {
            windows[w].series.append(try newSeries(windows[w].window, r.metric, r.channel))
            s = windows[w].series.count - 1
        }
        let series = windows[w].series[s]
        if series.closed, series.accumulator == nil || arrived > windows[w].window.end(plus: revisableMillis) { return (false, series) }
        if series.accumulator == nil {
            windows[w].series[s].accumulator = WindowAccumulator(time: r.time, value: r.value)
        } else {
            windows[w].series[s].accumulator?.take(time: r.time, value: r.value)
        }
        windows[w].series[s].changed = true
        return (true, windows[w].series[s])
    }

    /// Where the series of `group` sits (its window, then itself), if held.
    func index(of group: WindowGroup) -> (window: Int, series: Int)? {
        guard let w = windows.firstIndex(where: { $0.isWindow(length: group.windowLength, start: group.windowStart) }),
              let s = windows[w].series.firstIndex(where: { $0.isSeries(group.metric, group.channel) }) else { return nil }
        return (w, s)
    }

    /// The series of `records` closed, each with the statistics of its
    /// `count` readings: a series that took none since is unchanged (and
    /// leaves the row); one that took more stays changed, for the next
    /// revision. Returns whether anything was marked.
    mutating func markClosed(_ records: [AggregateRecord]) -> Bool {
        var marked = false
        for record in records {
            guard let (w, s) = index(of: record.group) else { continue }
            windows[w].series[s].closed = true
            if windows[w].series[s].accumulator?.count == record.statistics.count { windows[w].series[s].changed = false }
            marked = true
        }
        return marked
    }
}

/// The `open_windows` column of `device_sessions`: each window, one after
/// the other, little-endian:
///
///     i64 window length, i64 window start, u64 series count,
///     then that many series (`WindowSeriesCodec`'s records)
///
/// Read back with bounds checks: a damaged blob is a `StoreDataError`.
enum OpenWindowsCodec {
    /// Windows as the row keeps them (`OpenWindows.stored`); nil when none.
    static func encode(_ stored: OpenWindows) -> [UInt8]? {
        guard !stored.isEmpty else { return nil }
        let capacity = stored.windows.reduce(0) { $0 + 24 + $1.series.reduce(0) { $0 + WindowSeriesCodec.length($1) } }
        return ByteWriter.array(capacity: capacity) { out in
            for window in stored.windows {
                out.word(UInt64(bitPattern: window.windowLength))
                out.word(UInt64(bitPattern: window.windowStart))
                out.word(UInt64(window.series.count))
                for series in window.series { WindowSeriesCodec.append(series, to: &out) }
            }
        }
    }

    /// A row's `open_windows` and `open_until_ms`, from windows as it keeps
    /// them: the one place the two columns are made, so they always agree.
    static func columns(_ stored: OpenWindows) -> [SQLiteValue] {
        [encode(stored).map { .blob($0) } ?? .null, stored.earliestEnd.map { .integer($0) } ?? .null]
    }

    /// Sets a row's two columns (`columns`), by its id.
    static let update = "UPDATE device_sessions SET open_windows = ?, open_until_ms = ? WHERE id = ?"

    static func decode(_ bytes: [UInt8]?) throws -> OpenWindows {
        guard let bytes else { return OpenWindows() }
        var windows = OpenWindows()
        var reader = BlobReader(bytes, damaged: damaged)
        while !reader.isAtEnd {
            let length = Int64(bitPattern: try reader.word()), start = Int64(bitPattern: try reader.word())
            let count = try reader.word()
            // Each series is at least 66 bytes: a count past what is left is damage, not a loop to run.
            guard count > 0, count <= UInt64(bytes.count) / 66 else { throw damaged }
            var series: [WindowSeries] = []
            for _ in 0..<count { series.append(try WindowSeriesCodec.read(&reader)) }
            windows.windows.append(OpenWindow(windowLength: length, windowStart: start, series: series))
        }
        return windows
    }

    private static let damaged = StoreDataError(message: "a damaged open window in the database")
}
