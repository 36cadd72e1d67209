import Readings

/// Which `device_sessions` and `window_accumulators` rows do *not* exist, so
/// a batch (through `StoredRowCache`) need not read a row to find none
/// there: with 100,000 devices sending, nearly every uplink is its device's
/// first in its window, and the two reads that found nothing cost about 1 µs
/// of it (Benchmarks/RESULTS.md, issue 17, eighth step). Saying "no row"
/// when there is one would lose a session or an accumulator, so this
/// knowledge only ever errs the other way:
/// - it is loaded from the table, inside a write transaction, and dropped
///   with the copies when another connection commits;
/// - every row the store's connection inserts is noted as the insert is made,
///   before its commit (a rollback leaves a fingerprint without a row: that
///   costs one read, and never a row);
/// - a row deleted stays noted (the same);
/// - `checkRowCache` (the tests) asserts that no row there is taken for absent.
///
/// Only used under the store's writer lock, like `StoredRowCache`.
struct RowKnowledge {
    /// The `device_sessions` rows there are (every one), and the
    /// `window_accumulators` rows of windows that began after the table was
    /// read. nil: not read since last forgotten (read when a batch first
    /// needs it). Fingerprints are `Hasher` values: this process's only; two
    /// keys may share one, which costs a read, never a row. Every device
    /// with a row is in the first: about 2 MB for 100,000 devices.
    private var sessionRows: Set<Int>?
    private var accumulatorRows: WindowRowFingerprints?
    /// How many lookups needed no read, and how often the tables were read (for tests and benchmarks).
    private(set) var readsSpared = 0
    private(set) var loads = 0

    /// Whether the device may have a session row: false is certain (no read
    /// needed), true asks for the read.
    mutating func mayHaveSession(_ device: DeviceID, on connection: SQLiteConnection) throws -> Bool {
        if sessionRows == nil {
            var rows = Set<Int>()
            for row in try connection.query("SELECT device FROM device_sessions") { rows.insert((row[0].string ?? "").hashValue) }
            sessionRows = rows
            loads += 1
        }
        let may = sessionRows?.contains(device.hashValue) ?? true
        if !may { readsSpared += 1 }
        return may
    }

    /// Whether the device window may have a row (as `mayHaveSession`).
    mutating func mayHaveAccumulatorRow(_ key: WindowAccumulatorBatch.Key, on connection: SQLiteConnection) throws -> Bool {
        if accumulatorRows == nil {
            // A row's window ends at or after it starts (`window_end_ms` saturates),
            // so no row there now is of a window that starts after the latest end.
            let latestEnd = try connection.scalar("SELECT max(window_end_ms) FROM window_accumulators") ?? Int64.min
            accumulatorRows = WindowRowFingerprints(horizon: latestEnd)
            loads += 1
        }
        let may = accumulatorRows?.mayHold(key) ?? true
        if !may { readsSpared += 1 }
        return may
    }

    /// The device's session row is being written (inserted or updated).
    mutating func noteSessionRow(_ device: DeviceID) {
        sessionRows?.insert(device.hashValue)
    }

    /// The device window's row is being inserted.
    mutating func noteAccumulatorRow(_ key: WindowAccumulatorBatch.Key) {
        accumulatorRows?.insert(key)
    }

    /// Whether a row is taken for absent, without reading anything.
    func takesForAbsent(session device: DeviceID) -> Bool {
        sessionRows.map { !$0.contains(device.hashValue) } ?? false
    }

    func takesForAbsent(accumulatorRow key: WindowAccumulatorBatch.Key) -> Bool {
        accumulatorRows.map { !$0.mayHold(key) } ?? false
    }

    /// Another connection committed: what was known may have changed.
    mutating func forget() {
        sessionRows = nil
        accumulatorRows = nil
    }
}

/// The `window_accumulators` rows of windows that start after `horizon`,
/// by fingerprint (`Hasher` values: this process's only), grouped by window
/// start: every such row is here, because the table had none when it was read
/// and every insert since is noted. A fingerprint not here is a row that does
/// not exist; one here may be a row (two keys can share a fingerprint).
///
/// At most `limit` fingerprints: past it the groups of the earliest windows
/// go, and the horizon moves up past them (those windows are read again, as
/// windows older than the horizon always are). 100,000 devices with
/// 15-minute windows note 9.6 million windows a day.
struct WindowRowFingerprints {
    private(set) var horizon: EpochMillis
    private var byStart: [EpochMillis: Set<Int>] = [:]
    private var count = 0
    let limit: Int

    init(horizon: EpochMillis, limit: Int = 1 << 18) {
        self.horizon = horizon
        self.limit = limit
    }

    func mayHold(_ key: WindowAccumulatorBatch.Key) -> Bool {
        guard key.windowStart > horizon else { return true }
        return byStart[key.windowStart]?.contains(key.hashValue) ?? false
    }

    mutating func insert(_ key: WindowAccumulatorBatch.Key) {
        guard key.windowStart > horizon else { return }
        if byStart[key.windowStart, default: []].insert(key.hashValue).inserted { count += 1 }
        guard count > limit else { return }
        // Down to half the limit, so a fleet at the limit does not drop a group every batch.
        while count > limit / 2, let earliest = byStart.keys.min() {
            count -= byStart.removeValue(forKey: earliest)?.count ?? 0
            horizon = max(horizon, earliest)
        }
    }
}
