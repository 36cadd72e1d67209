import Readings

/// Copies of the `device_sessions` rows that recent batches read or wrote
/// (a device's session and open windows), so the next batch that touches the
/// same device need not read its row again; and which packet identifiers
/// of `recent_packets` an earlier connection used, so a QoS 1 message under
/// any other identifier skips the redelivery lookup.
///
/// Why: the QoS 1 load test commits bursts of 32–117 uplinks, about one per
/// device, so each uplink's batch read its device's session row and its
/// window's accumulator row (one row since migration 18) alone: about 3 µs per uplink at 100 uplinks per
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
///   (with the windows the row keeps, `OpenWindows.stored`).
/// - Every other write to the table on the store's connection evicts what
///   it touches (`markClosed`).
/// - A commit by any other connection (another process, `citygate requeue`,
///   a test) drops every copy: SQLite's `PRAGMA data_version` changes for
///   this connection exactly when another connection committed, and it is
///   checked as each write transaction begins (inside `BEGIN IMMEDIATE`,
///   when no other writer can commit; `begin`). A checkpoint does not change
///   it unless it truncates or restarts the WAL, which this store's do not.
/// - The identifier set follows the same rules: an identifier leaves it
///   only once a commit stored a message of the set's connection under it.
/// - At most `capacity` copies: past that the copies are
///   dropped and start again (100,000 devices must not grow the process by
///   their rows).
///
/// Copies pay only while the same devices come back before their copies are
/// dropped, and cost up to 1 µs an uplink where they do not (100,000 devices
/// sending, Benchmarks/RESULTS.md, issue 17, eighth step): `CopyingPolicy`
/// stops copying while copies are seldom found, and tries again later.
///
/// It also knows which rows do *not* exist (`RowKnowledge`), so a batch
/// need not read a row to find none there.
///
/// Only used under the store's writer lock, like `connection`.
final class StoredRowCache {
    /// Copies kept; 0 keeps none and looks every redelivery up
    /// (each batch reads its rows, as before the cache: the tests compare the two).
    var capacity: Int
    private var rows: [DeviceID: StoredDeviceRow] = [:]
    /// What this transaction staged, in order (a later entry wins). Lists,
    /// not dictionaries: staging then hashes nothing; they are searched only
    /// by a second batch in the same transaction, which the gateway never runs.
    private var stagedRows: [(device: DeviceID, row: StoredDeviceRow)] = []
    /// `PRAGMA data_version` when the copies were last known good.
    private var dataVersion: Int64?
    /// Set by `begin`, cleared when the transaction ends: batches check it.
    private(set) var isValidated = false

    /// The packet identifiers whose `recent_packets` row may hold a message
    /// of an earlier connection than `packetsConnection`: only for those can
    /// a message be a redelivery (see `BrokerDelivery`), so only those need
    /// the redelivery lookup. Filled from the table when a connection's
    /// first message comes; an identifier leaves once this connection has
    /// stored a message under it (its row is then this connection's).
    private var earlierPackets = PacketIdentifierSet()
    private var packetsConnection: EpochMillis?
    /// Identifiers this transaction stored messages under, with their connection.
    private var stagedPackets: [(packetID: Int, connectedAt: EpochMillis)] = []

    /// Which rows do not exist; off, like the copies, at capacity 0.
    private(set) var knowledge = RowKnowledge()

    /// Whether batches' rows are copied, decided as each transaction begins
    /// (tests set shorter rounds).
    var policy: CopyingPolicy

    /// How many lookups found a copy, and how many did not (for tests and benchmarks).
    private(set) var hits = 0
    private(set) var misses = 0
    /// How many redelivery lookups the identifier set spared (for tests and benchmarks).
    private(set) var lookupsSkipped = 0

    init(capacity: Int, policy: CopyingPolicy = CopyingPolicy()) {
        self.capacity = capacity
        self.policy = policy
    }

    /// Whether this transaction's batches copy their rows (and look for copies).
    var isCopying: Bool { policy.isCopying }

    /// A write transaction began (`GatewayStore.transaction`, inside its
    /// `BEGIN IMMEDIATE`): drops every copy if another connection committed
    /// since the last one.
    func begin(on connection: SQLiteConnection) throws {
        discardStaged()
        let version = try connection.scalar("PRAGMA data_version")
        if version != dataVersion {
            if dataVersion != nil { removeAll() }
            dataVersion = version
        }
        // Only here, between transactions: a batch that stopped copying midway
        // would leave the copies of rows it then wrote stale.
        if policy.decide() == .stopped { rows.removeAll() }
        isValidated = true
    }

    /// Whether a message with this delivery may be a redelivery, that is
    /// whether its packet identifier's row may be an earlier connection's.
    /// False is certain; true asks for the lookup. `beforeReading` writes
    /// rows the transaction has staged (`UplinkRows`), for the table to be whole when read.
    func mayBeRedelivery(_ delivery: BrokerDelivery, on connection: SQLiteConnection, beforeReading: () throws -> Void) throws -> Bool {
        guard capacity > 0, PacketIdentifierSet.holds(delivery.packetID) else { return true }
        if packetsConnection != delivery.connectedAt {
            try beforeReading()
            earlierPackets = PacketIdentifierSet()
            // A row under a number MQTT never uses is never asked for through the set.
            for row in try connection.query("SELECT packet_id FROM recent_packets") {
                if let id = row[0].int.map(Int.init(truncatingIfNeeded:)), PacketIdentifierSet.holds(id) { earlierPackets.insert(id) }
            }
            packetsConnection = delivery.connectedAt
        }
        let earlier = earlierPackets.contains(delivery.packetID)
        if !earlier { lookupsSkipped += 1 }
        return earlier
    }

    /// A message of this delivery was stored: once the transaction commits,
    /// its identifier's row is its connection's.
    func stageStored(_ delivery: BrokerDelivery) {
        stagedPackets.append((delivery.packetID, delivery.connectedAt))
    }

    func row(_ device: DeviceID) -> StoredDeviceRow? {
        let found = isCopying ? stagedRows.last(where: { $0.device == device })?.row ?? rows[device] : nil
        count(found != nil)
        return found
    }

    private func count(_ hit: Bool) {
        if hit { hits += 1 } else { misses += 1 }
        policy.note(hit: hit)
    }

    func mayHaveSession(_ device: DeviceID, on connection: SQLiteConnection) throws -> Bool {
        try capacity == 0 || knowledge.mayHaveSession(device, on: connection)
    }

    func noteSessionRow(_ device: DeviceID) { knowledge.noteSessionRow(device) }

    /// Whether a row is taken for absent, without reading anything (for
    /// `checkRowCache`: must never be true for a row that exists).
    func takesForAbsent(session device: DeviceID) -> Bool { capacity > 0 && knowledge.takesForAbsent(session: device) }

    /// The device's row holds `row` once this transaction commits.
    func stage(_ device: DeviceID, _ row: StoredDeviceRow) {
        guard isCopying else { return }
        stagedRows.append((device, row))
    }

    /// The transaction committed: what it staged is what the rows hold.
    func commitStaged() {
        Self.keep(stagedRows, in: &rows, capacity: capacity)
        // A message stored for an earlier connection than the set's (a burst
        // that spanned a reconnect) leaves an earlier connection's row: it stays.
        for (packetID, connectedAt) in stagedPackets where connectedAt == packetsConnection { earlierPackets.remove(packetID) }
        discardStaged()
    }

    /// Adds `staged` to `copies`, never past `capacity`: when they would not
    /// fit, the older copies go (all of them: cheaper than finding the
    /// oldest, and a fleet larger than the capacity gains little either way).
    private static func keep<Key, Row>(_ staged: [(Key, Row)], in copies: inout [Key: Row], capacity: Int) {
        if copies.count + staged.count > capacity { copies.removeAll(keepingCapacity: copies.count <= capacity) }
        guard staged.count <= capacity else { return }
        for (key, row) in staged { copies[key] = row }
    }

    /// The transaction rolled back (or never staged): its rows are as they were.
    func discardStaged() {
        if !stagedRows.isEmpty { stagedRows.removeAll(keepingCapacity: true) }
        if !stagedPackets.isEmpty { stagedPackets.removeAll(keepingCapacity: true) }
        isValidated = false
    }

    /// A device's row was changed outside a batch.
    func evict(_ device: DeviceID) {
        rows[device] = nil
        stagedRows.removeAll { $0.device == device }
    }

    func removeAll() {
        rows.removeAll()
        knowledge.forget()
        packetsConnection = nil
        discardStaged()
    }

    /// The connection the identifier set is for, and whether it holds an identifier (for tests).
    func earlierPacket(_ packetID: Int) -> (connectedAt: EpochMillis, holds: Bool)? {
        guard PacketIdentifierSet.holds(packetID) else { return nil }
        return packetsConnection.map { ($0, earlierPackets.contains(packetID)) }
    }

    /// Every copy, for the test that compares them with the rows.
    var copies: [DeviceID: StoredDeviceRow] { rows }
}
