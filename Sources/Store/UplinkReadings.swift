import Readings

/// The `readings` column of `uplink_readings`: an uplink's readings as one
/// JSON array, an element per reading,
///
///     [metric, channel or null, time_ms, value, window_ms, window_start_ms, aggregated]
///
/// with the reading's device as an eighth item only where it is not the
/// row's. JSON rather than a binary form so that SQLite itself reads it
/// back: the `readings` view (migration 13) gives one row per reading to
/// `sqlite3`, retention and tests alike. Values are the integers stored
/// before (counts of the metric's canonical step), written exactly.
enum UplinkReadingsText {
    static func encode(_ readings: [ReadingRow], aggregated: (Int) -> Int, device: DeviceID) -> String {
        var text = "["
        text.reserveCapacity(readings.count * 64)
        for (index, row) in readings.enumerated() {
            let r = row.reading
            if index > 0 { text += "," }
            text += "["
            JSONText.string(r.metric.name).write(to: &text)
            text += ","
            text += r.channel.map { String($0) } ?? "null"
            append(r.time, to: &text)
            append(r.value, to: &text)
            append(row.windowLength, to: &text)
            append(row.windowStart, to: &text)
            append(Int64(aggregated(index)), to: &text)
            if r.device != device {
                text += ","
                JSONText.string(r.device).write(to: &text)
            }
            text += "]"
        }
        text += "]"
        return text
    }

    private static func append(_ value: Int64, to text: inout String) {
        text += ","
        text += String(value)
    }
}

extension GatewayStore {
    /// Stores an uplink's readings, one row for all of them, and takes each
    /// into its window (see `ReadingWindows`); returns how many were too late.
    func insert(_ readings: [ReadingRow], uplinkID id: Int64, arrived: EpochMillis, windows: inout WindowAccumulatorBatch) throws -> Int {
        guard let device = readings.first?.reading.device else { return 0 }
        var taken: [Bool] = []
        taken.reserveCapacity(readings.count)
        for row in readings { taken.append(try windows.take(row, arrived: arrived)) }
        let text = UplinkReadingsText.encode(readings, aggregated: { taken[$0] ? 0 : 2 }, device: device)
        try connection.run("INSERT INTO uplink_readings (uplink_id, device, readings) VALUES (?, ?, ?)", [.integer(id), .text(device), .text(text)])
        return taken.lazy.filter { !$0 }.count
    }
}
