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
    /// Written as bytes with the digits made here: through `String` pieces
    /// it took about 2 µs per uplink, as much as the insert it replaced.
    static func encode(_ readings: [ReadingRow], aggregated: (Int) -> Int, device: DeviceID) -> String {
        var bytes: [UInt8] = [UInt8(ascii: "[")]
        bytes.reserveCapacity(readings.count * 72)
        for (index, row) in readings.enumerated() {
            let r = row.reading
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(UInt8(ascii: "["))
            appendString(r.metric.name, to: &bytes)
            bytes.append(UInt8(ascii: ","))
            if let channel = r.channel { appendDecimal(Int64(channel), to: &bytes) } else { bytes += "null".utf8 }
            appendField(r.time, to: &bytes)
            appendField(r.value, to: &bytes)
            appendField(row.windowLength, to: &bytes)
            appendField(row.windowStart, to: &bytes)
            appendField(Int64(aggregated(index)), to: &bytes)
            if r.device != device {
                bytes.append(UInt8(ascii: ","))
                appendString(r.device, to: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        }
        bytes.append(UInt8(ascii: "]"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A JSON string: metric names need no escaping and are copied; anything
    /// else goes through `JSONText`'s escaping.
    private static func appendString(_ text: String, to bytes: inout [UInt8]) {
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") && $0 < 0x80 }) {
            bytes.append(UInt8(ascii: "\""))
            bytes += text.utf8
            bytes.append(UInt8(ascii: "\""))
        } else {
            bytes += JSONText.string(text).serialized().utf8
        }
    }

    private static func appendField(_ value: Int64, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: ","))
        appendDecimal(value, to: &bytes)
    }

    /// The decimal digits of `value` (Int64.min included: by its magnitude).
    static func appendDecimal(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes, filled from the end
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                count += 1
                buffer[24 - count] = UInt8(truncatingIfNeeded: magnitude % 10) &+ UInt8(ascii: "0")
                magnitude /= 10
            } while magnitude > 0
            bytes += buffer[(24 - count)...]
        }
    }
}

extension GatewayStore {
    /// Stores an uplink's readings, one row for all of them, and takes each
    /// into its window (see `ReadingWindows`); returns how many were too late.
    func insert(_ readings: [ReadingRow], uplinkID id: Int64, arrived: EpochMillis, sessions: inout DeviceSessionBatch) throws -> Int {
        guard let device = readings.first?.reading.device else { return 0 }
        var taken: [Bool] = []
        taken.reserveCapacity(readings.count)
        for row in readings { taken.append(try sessions.take(row, arrived: arrived)) }
        let text = UplinkReadingsText.encode(readings, aggregated: { taken[$0] ? 0 : 2 }, device: device)
        try connection.run("INSERT INTO uplink_readings (uplink_id, device, readings) VALUES (?, ?, ?)", [.integer(id), .text(device), .text(text)])
        return taken.lazy.filter { !$0 }.count
    }
}
