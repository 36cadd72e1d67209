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
    /// Written as bytes into a string sized beforehand (`ByteWriter`):
    /// through `String` pieces it took about 2 µs per uplink, as much as the
    /// insert it replaced, and through `Array.append` still about 1.
    static func encode(_ readings: [ReadingRow], aggregated: (Int) -> Int, device: DeviceID) -> String {
        // Per reading: its brackets, a comma before it and six between its
        // seven items, the channel (or `null`) and five decimals, and its
        // one or two strings.
        // (Fields are read in place: a copy of each row retained its strings.)
        var capacity = 2
        for index in readings.indices {
            capacity += 9 + 6 * ByteWriter.maximumDecimalCount + quotedLength(readings[index].reading.metric.name)
            if readings[index].reading.device != device { capacity += 1 + quotedLength(readings[index].reading.device) }
        }
        return ByteWriter.string(capacity: capacity) { out in
            out.byte(UInt8(ascii: "["))
            for index in readings.indices {
                if index > 0 { out.byte(UInt8(ascii: ",")) }
                out.byte(UInt8(ascii: "["))
                appendString(readings[index].reading.metric.name, to: &out)
                out.byte(UInt8(ascii: ","))
                if let channel = readings[index].reading.channel { out.decimal(Int64(channel)) } else { out.utf8("null") }
                out.field(readings[index].reading.time)
                out.field(readings[index].reading.value)
                out.field(readings[index].windowLength)
                out.field(readings[index].windowStart)
                out.field(Int64(aggregated(index)))
                if readings[index].reading.device != device {
                    out.byte(UInt8(ascii: ","))
                    appendString(readings[index].reading.device, to: &out)
                }
                out.byte(UInt8(ascii: "]"))
            }
            out.byte(UInt8(ascii: "]"))
        }
    }

    /// Metric names and DevEUIs need no escaping and are copied; anything
    /// else goes through `JSONText`'s escaping.
    private static func needsNoEscape(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { $0.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") && $0 < 0x80 } }
    }

    private static func quotedLength(_ text: String) -> Int {
        needsNoEscape(text) ? text.utf8.count + 2 : JSONText.string(text).serialized().utf8.count
    }

    /// A JSON string, `quotedLength(text)` bytes.
    private static func appendString(_ text: String, to out: inout ByteWriter) {
        if needsNoEscape(text) {
            out.byte(UInt8(ascii: "\""))
            out.utf8(text)
            out.byte(UInt8(ascii: "\""))
        } else {
            out.utf8(JSONText.string(text).serialized())
        }
    }
}

private extension ByteWriter {
    /// A comma and a decimal: one item of a reading after its first two.
    mutating func field(_ value: Int64) {
        byte(UInt8(ascii: ","))
        decimal(value)
    }
}

extension GatewayStore {
    static let insertUplinkReadings = MultiRowInsert("INSERT INTO uplink_readings (uplink_id, device, readings)", columns: 3)

    /// Stages an uplink's readings in `rows` (`insertUplinkReadings`), one
    /// row for all of them, and takes each into its window (see
    /// `ReadingWindows`); returns how many were too late.
    func insert(_ readings: [ReadingRow], uplinkID id: Int64, arrived: EpochMillis, sessions: inout DeviceSessionBatch,
                rows: inout RowBatch) throws -> Int {
        guard let device = readings.first?.reading.device else { return 0 }
        var taken: [Bool] = []
        taken.reserveCapacity(readings.count)
        for row in readings { taken.append(try sessions.take(row, arrived: arrived)) }
        let text = UplinkReadingsText.encode(readings, aggregated: { taken[$0] ? 0 : 2 }, device: device)
        try rows.append([.integer(id), .text(device), .text(text)], on: connection)
        return taken.lazy.filter { !$0 }.count
    }
}
