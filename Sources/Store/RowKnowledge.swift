import Readings

/// Which `device_sessions` rows do *not* exist, so a batch (through
/// `StoredRowCache`) need not read a row to find none there: a new device's
/// first uplink. (Until migration 18 a device window's first reading also
/// looked for an accumulator row of its own; with 100,000 devices sending,
/// nearly every uplink was, and the reads that found nothing cost about 1 µs
/// of it: Benchmarks/RESULTS.md, issue 17, eighth step.) Saying "no row"
/// when there is one would lose a session and its open windows, so this
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
    /// The `device_sessions` rows there are (every one). nil: not read since
    /// last forgotten (read when a batch first needs it). Fingerprints are
    /// `Hasher` values: this process's only; two keys may share one, which
    /// costs a read, never a row. About 2 MB for 100,000 devices.
    private var sessionRows: Set<Int>?
    /// How many lookups needed no read (for tests and benchmarks).
    private(set) var readsSpared = 0

    /// Whether the device may have a session row: false is certain (no read
    /// needed), true asks for the read.
    mutating func mayHaveSession(_ device: DeviceID, on connection: SQLiteConnection) throws -> Bool {
        if sessionRows == nil {
            var rows = Set<Int>()
            for row in try connection.query("SELECT device FROM device_sessions") { rows.insert((row[0].string ?? "").hashValue) }
            sessionRows = rows
        }
        let may = sessionRows?.contains(device.hashValue) ?? true
        if !may { readsSpared += 1 }
        return may
    }

    /// The device's session row is being written (inserted or updated).
    mutating func noteSessionRow(_ device: DeviceID) {
        sessionRows?.insert(device.hashValue)
    }

    /// Whether a row is taken for absent, without reading anything.
    func takesForAbsent(session device: DeviceID) -> Bool {
        sessionRows.map { !$0.contains(device.hashValue) } ?? false
    }

    /// Another connection committed: what was known may have changed.
    mutating func forget() {
        sessionRows = nil
    }
}
