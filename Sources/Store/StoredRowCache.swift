import Readings

/// Copies of the `device_sessions` and `window_accumulators` rows that recent
/// batches read or wrote, so the next batch that touches the same device or
/// device window need not read its row again.
///
/// Why: the QoS 1 load test commits bursts of 32–117 uplinks, about one per
/// device, so each uplink's batch read its device's session row and its
/// window's accumulator row alone: about 3 µs per uplink at 100 uplinks per
/// commit (Benchmarks/RESULTS.md, issue 17). Rows are still written in every
/// batch, as before; only the reads are spared.
///
/// A copy must never differ from the row, or deduplication would drop or
/// double an uplink without a sound. So:
/// - What a batch learns is *staged* and becomes a copy only once its
///   transaction commits (`GatewayStore.transaction`); a rollback (a full disk
///   at COMMIT) discards it. A batch looks at the staged copies first, so two
///   batches in one transaction see each other's rows.
/// - Only rows that exist are copied, as a fresh read would return them
///   (`WindowSeriesCodec` leaves out series without an accumulator; so does
///   the copy).
/// - Every other write to these tables on the store's connection evicts
///   what it touches (`markClosed`, `pruneAccumulators`).
/// - A commit by any other connection (another process, `citygate requeue`,
///   a test) drops every copy: SQLite's `PRAGMA data_version` changes for
///   this connection exactly when another connection committed, and it is
///   checked inside each batch's write transaction (`BEGIN IMMEDIATE`), when
///   no other writer can commit.
/// - At most `capacity` copies of each kind: past that the copies are
///   dropped and start again (100,000 devices must not grow the process by
///   their rows).
///
/// Only used under the store's writer lock, like `connection`.
final class StoredRowCache {
    /// A device window's row as `WindowAccumulatorBatch` reads it.
    struct AccumulatorRow: Equatable {
        var id: Int64
        var series: [WindowSeries]
        /// The row's `changed` column.
        var changed: Bool
    }

    /// Copies kept of each kind; 0 keeps none (each batch reads its rows,
    /// as before the cache: the tests compare the two).
    var capacity: Int
    private var sessions: [DeviceID: DeviceSession] = [:]
    private var accumulators: [WindowAccumulatorBatch.Key: AccumulatorRow] = [:]
    private var stagedSessions: [DeviceID: DeviceSession] = [:]
    private var stagedAccumulators: [WindowAccumulatorBatch.Key: AccumulatorRow] = [:]
    /// `PRAGMA data_version` when the copies were last known good.
    private var dataVersion: Int64?

    /// How many lookups found a copy, and how many did not (for tests and benchmarks).
    private(set) var hits = 0
    private(set) var misses = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Drops every copy if another connection committed since the last
    /// check. Call inside the write transaction, before the first lookup.
    func validate(on connection: SQLiteConnection) throws {
        let version = try connection.scalar("PRAGMA data_version")
        if version != dataVersion {
            if dataVersion != nil { removeAll() }
            dataVersion = version
        }
    }

    func session(_ device: DeviceID) -> DeviceSession? {
        let found = stagedSessions[device] ?? sessions[device]
        if found == nil { misses += 1 } else { hits += 1 }
        return found
    }

    func accumulatorRow(_ key: WindowAccumulatorBatch.Key) -> AccumulatorRow? {
        let found = stagedAccumulators[key] ?? accumulators[key]
        if found == nil { misses += 1 } else { hits += 1 }
        return found
    }

    /// The device's session row holds `session` once this transaction commits.
    func stage(_ device: DeviceID, _ session: DeviceSession) {
        stagedSessions[device] = session
    }

    /// The device window's row is `row` once this transaction commits.
    func stage(_ key: WindowAccumulatorBatch.Key, _ row: AccumulatorRow) {
        var row = row
        row.series.removeAll { $0.accumulator == nil }
        stagedAccumulators[key] = row
    }

    /// The transaction committed: what it staged is what the rows hold.
    func commitStaged() {
        Self.keep(stagedSessions, in: &sessions, capacity: capacity)
        Self.keep(stagedAccumulators, in: &accumulators, capacity: capacity)
        discardStaged()
    }

    /// Adds `staged` to `copies`, never past `capacity`: when they would not
    /// fit, the older copies go (all of them: cheaper than finding the
    /// oldest, and a fleet larger than the capacity gains little either way).
    private static func keep<Key, Row>(_ staged: [Key: Row], in copies: inout [Key: Row], capacity: Int) {
        if copies.count + staged.count > capacity { copies.removeAll(keepingCapacity: copies.count <= capacity) }
        guard staged.count <= capacity else { return }
        copies.merge(staged) { _, staged in staged }
    }

    /// The transaction rolled back (or never staged): its rows are as they were.
    func discardStaged() {
        if !stagedSessions.isEmpty { stagedSessions.removeAll(keepingCapacity: true) }
        if !stagedAccumulators.isEmpty { stagedAccumulators.removeAll(keepingCapacity: true) }
    }

    /// A device window's row was changed or deleted outside a batch.
    func evictAccumulatorRow(_ key: WindowAccumulatorBatch.Key) {
        accumulators[key] = nil
        stagedAccumulators[key] = nil
    }

    /// Rows were deleted, which ones not known here.
    func evictAccumulatorRows() {
        accumulators.removeAll()
        stagedAccumulators.removeAll()
    }

    func removeAll() {
        sessions.removeAll()
        accumulators.removeAll()
        discardStaged()
    }

    /// Every copy, for the test that compares them with the rows.
    var copies: (sessions: [DeviceID: DeviceSession], accumulators: [WindowAccumulatorBatch.Key: AccumulatorRow]) {
        (sessions, accumulators)
    }
}
