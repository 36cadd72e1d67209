import Readings

/// One series (metric and channel) of a device window, as its device's open
/// windows keep it (`OpenWindows`): the running statistics, whether it took readings since it
/// last closed, and whether it has an aggregate (then a reading past end +
/// grace + lateness is too late for it).
struct WindowSeries: Equatable {
    var metric: Metric
    var channel: Int?
    /// Nil only in memory, for a series known from its aggregate alone
    /// (saved before migration 11, without its sum): it takes no readings.
    var accumulator: WindowAccumulator?
    var changed: Bool
    var closed: Bool

    func isSeries(_ metric: Metric, _ channel: Int?) -> Bool { self.metric == metric && self.channel == channel }
}

/// A device window's series, one after the other, little-endian (the
/// `series` column of migration 11's `window_accumulators`, and each window
/// of `OpenWindowsCodec`):
///
///     u8 name length, name (UTF-8), i64 channel (-1: none), i64 count,
///     i64 min, i64 max, i64 sum high, u64 sum low (sum = high·2⁶⁴ + low),
///     i64 last, i64 last time, u8 flags (1: changed, 2: closed)
///
/// All of a device window's series together rather than a row per series:
/// with 100,000 devices each sending about once a window, a row per series
/// was a table row and two index entries per reading (figures in
/// Benchmarks/RESULTS.md, issue 17).
/// Read back with bounds checks: a damaged blob is a `StoreDataError`, and an
/// unknown metric name one too (see `Metric.stored`).
enum WindowSeriesCodec {
    static func encode(_ series: [WindowSeries]) -> [UInt8] {
        ByteWriter.array(capacity: series.reduce(0) { $0 + length($1) }) { out in
            for item in series { append(item, to: &out) }
        }
    }

    /// The bytes `append` writes for a series.
    static func length(_ item: WindowSeries) -> Int {
        item.accumulator == nil ? 0 : 1 + min(item.metric.name.utf8.count, 255) + 8 * 8 + 1
    }

    /// One series' record; nothing for a series without an accumulator.
    static func append(_ item: WindowSeries, to out: inout ByteWriter) {
        guard let accumulator = item.accumulator else { return }
        let name = item.metric.name
        out.byte(UInt8(min(name.utf8.count, 255)))
        out.utf8(name, limit: 255)
        out.word(UInt64(bitPattern: Int64(item.channel ?? -1)))
        out.word(UInt64(bitPattern: accumulator.count))
        out.word(UInt64(bitPattern: accumulator.min))
        out.word(UInt64(bitPattern: accumulator.max))
        out.word(UInt64(bitPattern: Int64(truncatingIfNeeded: accumulator.sum >> 64)))
        out.word(UInt64(truncatingIfNeeded: accumulator.sum))
        out.word(UInt64(bitPattern: accumulator.last))
        out.word(UInt64(bitPattern: accumulator.lastTime))
        out.byte((item.changed ? 1 : 0) | (item.closed ? 2 : 0))
    }

    static func decode(_ bytes: [UInt8]) throws -> [WindowSeries] {
        var series: [WindowSeries] = []
        var reader = BlobReader(bytes, damaged: damaged)
        while !reader.isAtEnd { series.append(try read(&reader)) }
        return series
    }

    /// One series' record (a `StoreDataError` from `reader` if it is damaged).
    static func read(_ reader: inout BlobReader) throws -> WindowSeries {
        let name = String(decoding: try reader.bytes(Int(try reader.byte())), as: UTF8.self)
        let metric = try Metric.stored(.text(name))
        let channel = Int64(bitPattern: try reader.word())
        let count = Int64(bitPattern: try reader.word()), minimum = Int64(bitPattern: try reader.word()), maximum = Int64(bitPattern: try reader.word())
        let sum = (Int128(Int64(bitPattern: try reader.word())) << 64) | Int128(try reader.word())
        let last = Int64(bitPattern: try reader.word()), lastTime = Int64(bitPattern: try reader.word())
        let flags = try reader.byte()
        guard count > 0 else { throw reader.damaged }
        return WindowSeries(metric: metric, channel: channel < 0 ? nil : Int(truncatingIfNeeded: channel),
                            accumulator: WindowAccumulator(count: count, min: minimum, max: maximum, sum: sum, last: last, lastTime: lastTime),
                            changed: flags & 1 != 0, closed: flags & 2 != 0)
    }

    private static let damaged = StoreDataError(message: "a damaged window accumulator in the database")
}
