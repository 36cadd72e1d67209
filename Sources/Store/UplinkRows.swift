import Readings

/// The rows an ingest transaction adds for its messages, staged for
/// multi-row inserts (`RowBatch`): the uplink, its bytes, and for QoS 1 its
/// packet identifier. Three statements per chunk of uplinks instead of three
/// per uplink. Written in that order, so a row's foreign keys find their
/// uplink.
struct UplinkRows {
    static let uplinks = MultiRowInsert(
        "INSERT INTO uplinks (id, received_ms, topic, message_hash, packet_id, state, envelope, device, fcnt, fport, network_ms)", columns: 11)
    static let messages = MultiRowInsert("INSERT INTO uplink_messages (uplink_id, message, dictionary)", columns: 3)
    static let packets = MultiRowInsert("INSERT OR REPLACE INTO recent_packets (packet_id, uplink_id)", columns: 2)

    private var uplinks: RowBatch
    private var messages: RowBatch
    private var packets: RowBatch
    /// The id the next uplink takes, once the table's largest is read.
    private var next: Int64?

    init(expected: Int = 1) {
        uplinks = RowBatch(Self.uplinks, expectedRows: expected)
        messages = RowBatch(Self.messages, expectedRows: expected)
        packets = RowBatch(Self.packets, expectedRows: expected)
    }

    /// The next uplink's id: one above the largest in the table, as SQLite
    /// itself picks a rowid (`uplinks.id` has no AUTOINCREMENT), read once
    /// per transaction. A staged row needs its id before it is written: its
    /// bytes, its packet and the batch's records refer to it. The writer
    /// holds the database's write lock for the whole transaction, so no
    /// other connection can take an id meanwhile.
    mutating func nextID(on connection: SQLiteConnection) throws -> Int64 {
        let id = try next ?? (connection.scalar("SELECT max(id) FROM uplinks") ?? 0) + 1
        next = id + 1
        return id
    }

    /// Stages one uplink's rows (see `GatewayStore.insertUplink`).
    mutating func stage(id: Int64, arrived: ArrivedMessage, facts: UplinkRowFacts,
                        stored: (bytes: [UInt8], dictionary: Int64?), on connection: SQLiteConnection) throws {
        let packetID: SQLiteValue = arrived.delivery.map { .integer(Int64($0.packetID)) } ?? .null
        try uplinks.append([.integer(id), .integer(arrived.receivedAt), .text(arrived.topic), .integer(arrived.messageHash), packetID] + facts.columns,
                           on: connection)
        try messages.append([.integer(id), .blob(stored.bytes), stored.dictionary.map { .integer($0) } ?? .null], on: connection)
        if arrived.delivery != nil { try packets.append([packetID, .integer(id)], on: connection) }
    }

    /// Writes every staged row.
    mutating func flush(on connection: SQLiteConnection) throws {
        try uplinks.flush(on: connection)
        try messages.flush(on: connection)
        try packets.flush(on: connection)
    }
}
