import Readings

/// The windows one recorded batch touches, inside that batch's transaction:
/// the batch's readings folded in memory per window, and written once when
/// the batch ends (one write per window a batch, instead of index rows per
/// reading). Like `DeviceSessionBatch`.
///
/// A window that has not ended yet (the common case: readings of the
/// current window) is not read first: no reading committed by now can be
/// too late for it, so the batch's fold is added onto whatever is stored, in
/// the upsert itself. (With 100,000 devices sending, nearly every uplink
/// opens a window of its own, and the read, a miss, and the aggregate
/// lookup after it would be two random pages per reading.) A window that
/// has ended is read once a batch, for its lateness.
struct WindowAccumulatorBatch {
    private let connection: SQLiteConnection
    /// Grace plus lateness: how long after its end a closed window may still take a reading.
    private let revisableMillis: Int64
    /// The batch's commit time: a window that ends after it cannot have a late reading.
    private let now: EpochMillis

    private struct Entry {
        var accumulator: WindowAccumulator?
        /// As stored: the row exists and took readings since it last closed.
        var stored = false
        var storedChanged = false
        /// The window has an aggregate: a reading committed after its cutoff is too late.
        var closed = false
        var taken = false
        /// Not read: `accumulator` holds this batch's readings alone, added
        /// onto the stored row (if any) by the upsert.
        var addOnto = false
    }

    private var windows: [WindowGroup: Entry] = [:]
    private var order: [WindowGroup] = []
    private var receivedAt: [Int64: EpochMillis] = [:]
    /// The last window a reading was too late for.
    private(set) var lateWindow: WindowGroup?

    init(connection: SQLiteConnection, revisableMillis: Int64, now: EpochMillis) {
        self.connection = connection
        self.revisableMillis = revisableMillis
        self.now = now
    }

    /// Takes a reading of uplink `uplink` into its window. False: the
    /// reading is too late and stays out of it.
    mutating func take(_ row: ReadingRow, uplink: Int64) throws -> Bool {
        let reading = row.reading
        let group = WindowGroup(device: reading.device, metric: reading.metric, channel: reading.channel,
                                windowLength: row.windowLength, windowStart: row.windowStart)
        if windows[group] == nil, group.window.end(plus: 0) > now {
            // Received at or before now, before the window's end: never too late.
            windows[group] = Entry(addOnto: true)
            order.append(group)
        }
        var window = try load(group)
        if !window.addOnto, window.closed, try window.accumulator == nil || received(uplink) > group.window.end(plus: revisableMillis) {
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
            let sum = GatewayStore.storedSum(accumulator.sum)
            let values: [SQLiteValue] = [
                .integer(accumulator.count), .integer(accumulator.min), .integer(accumulator.max), sum.high, sum.low,
                .integer(accumulator.last), .integer(accumulator.lastTime)]
            if window.addOnto {
                // The fold of readings that arrived after every stored one:
                // count, min, max and sum combine; the batch's last wins a tie.
                try connection.run(
                    """
                    INSERT INTO window_accumulators (count, min, max, sum_high, sum_low, last, last_time_ms, changed, closed,
                                                     device, metric, channel, window_ms, window_start_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?, 1, 0, ?, ?, ?, ?, ?)
                    ON CONFLICT (device, metric, channel, window_ms, window_start_ms) DO UPDATE SET
                        count = count + excluded.count, min = min(min, excluded.min), max = max(max, excluded.max),
                        sum_high = sum_high + excluded.sum_high, sum_low = sum_low + excluded.sum_low,
                        last = CASE WHEN excluded.last_time_ms >= last_time_ms THEN excluded.last ELSE last END,
                        last_time_ms = max(last_time_ms, excluded.last_time_ms), changed = 1
                    """, values + GatewayStore.windowParameters(group))
            } else if window.stored && window.storedChanged {
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
    /// that added them: it is closed, and a reading still on time for it
    /// (an uplink requeued from quarantine keeps its commit time) takes up
    /// from the aggregate's statistics and exact sum. An aggregate saved
    /// before the upgrade has no sum: such a window takes no more readings
    /// (they are counted as too late).
    private mutating func load(_ group: WindowGroup) throws -> Entry {
        if let known = windows[group] { return known }
        var window = Entry()
        if let row = try connection.query(Self.lookupQuery, GatewayStore.windowParameters(group)).first {
            window.accumulator = GatewayStore.accumulator(row, from: 0)
            window.stored = true
            window.storedChanged = row[7].int == 1
            window.closed = row[8].int == 1
        } else if let row = try connection.query(Self.aggregateQuery, [.text(group.device), .text(group.metric.name), .integer(group.windowLength),
                                                                       .integer(group.windowStart), .channel(group.channel)]).first {
            window.closed = true
            if row[3].int != nil && row[4].int != nil { window.accumulator = GatewayStore.accumulator(row, from: 0) }
        }
        windows[group] = window
        order.append(group)
        return window
    }

    static let lookupQuery =
        "SELECT count, min, max, sum_high, sum_low, last, last_time_ms, changed, closed FROM window_accumulators WHERE \(GatewayStore.sameWindow)"

    static let aggregateQuery = """
        SELECT count, min, max, sum_high, sum_low, last, last_time_ms FROM aggregates
        WHERE source = ? AND metric = ? AND window_ms = ? AND window_start_ms = ? AND channel IS ? AND scope = 'device'
        """

    /// When the uplink was committed (its row is in this transaction or before).
    private mutating func received(_ uplink: Int64) throws -> EpochMillis {
        if let known = receivedAt[uplink] { return known }
        let time = try connection.scalar("SELECT received_ms FROM uplinks WHERE id = ?", [.integer(uplink)]) ?? 0
        receivedAt[uplink] = time
        return time
    }
}
