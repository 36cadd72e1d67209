/// An INSERT written for many rows at once: one statement per
/// up to `largestChunk` rows, `INSERT ... VALUES (...), (...), ...`, instead
/// of one per row. A statement's own cost (binding its list, stepping into
/// the VDBE, opening its cursors, resetting) was paid per uplink four or
/// five times over; per chunk it nearly goes (Benchmarks/RESULTS.md, issue
/// 17). SQLite applies a multi-row INSERT row by row, in order, with the same
/// constraints, foreign keys and conflict clause (`INSERT OR REPLACE`) as
/// single ones.
///
/// For rows appended to their tables only. A statement of several rows may
/// fail midway, so SQLite journals every page that existed before it and that
/// it changes (a statement journal, in memory up to 64 KiB, then a temporary
/// file). An append changes a page or two that existed. The session upserts
/// change rows all over `device_sessions`: as multi-row upserts, with
/// 100,000 devices out of step, their journal went to a file and doubled the
/// bytes written per uplink. They stay one statement per row.
struct MultiRowInsert: Sendable {
    /// The rows one statement takes at most. 32 rows of the widest insert
    /// (`uplinks`, 11 columns) bind 352 values, well under SQLite's limit.
    static let largestChunk = 32

    let columns: Int
    /// `texts[k]`: the statement for 2^k rows. Made once (a static `let`
    /// per table), so the connection's statement cache finds them by identity.
    private let texts: [String]

    /// `head`: `INSERT INTO table (column, ...)`.
    init(_ head: String, columns: Int) {
        precondition(columns > 0)
        self.columns = columns
        let row = "(" + Array(repeating: "?", count: columns).joined(separator: ", ") + ")"
        var texts: [String] = []
        var rows = 1
        while rows <= Self.largestChunk {
            texts.append(head + " VALUES " + Array(repeating: row, count: rows).joined(separator: ", "))
            rows *= 2
        }
        self.texts = texts
    }

    /// The statement text for `rows` rows, a power of two up to `largestChunk`.
    func text(rows: Int) -> String {
        precondition(rows > 0 && rows <= Self.largestChunk && rows & (rows - 1) == 0, "a power of two up to the largest chunk")
        return texts[rows.trailingZeroBitCount]
    }
}

/// Rows waiting for one `MultiRowInsert`, inside the caller's transaction.
/// A full chunk is written as it fills; `flush` writes the rest, in chunks of
/// powers of two (100 rows: 32 + 32 + 32 + 4), so a table needs at most six
/// prepared statements whatever the batch's size. Rows are written in the
/// order they were added. Whoever reads the table inside the same
/// transaction flushes first: a staged row is not in the table yet.
struct RowBatch {
    let insert: MultiRowInsert
    /// The staged rows' values, row after row.
    private var values: [SQLiteValue] = []

    init(_ insert: MultiRowInsert, expectedRows: Int = 0) {
        self.insert = insert
        values.reserveCapacity(min(expectedRows, MultiRowInsert.largestChunk) * insert.columns)
    }

    var stagedRows: Int { values.count / insert.columns }

    /// Stages one row (`insert.columns` values), writing a full chunk.
    mutating func append(_ row: [SQLiteValue], on connection: SQLiteConnection) throws {
        precondition(row.count == insert.columns, "one value per column")
        values.append(contentsOf: row)
        if stagedRows == MultiRowInsert.largestChunk { try flush(on: connection) }
    }

    /// Writes every staged row.
    mutating func flush(on connection: SQLiteConnection) throws {
        var start = values.startIndex
        for rows in Self.chunkSizes(for: stagedRows) {
            let end = start + rows * insert.columns
            try connection.run(insert.text(rows: rows), values[start..<end])
            start = end
        }
        values.removeAll(keepingCapacity: true)
    }

    /// The statements `rows` rows take, largest first: full chunks, then
    /// the rest's binary digits.
    static func chunkSizes(for rows: Int) -> [Int] {
        var sizes: [Int] = []
        var remaining = rows
        while remaining > 0 {
            let size = min(1 << (Int.bitWidth - 1 - remaining.leadingZeroBitCount), MultiRowInsert.largestChunk)
            sizes.append(size)
            remaining -= size
        }
        return sizes
    }
}
