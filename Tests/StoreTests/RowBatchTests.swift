import Foundation
import Testing
@testable import Store

/// Multi-row inserts (`RowBatch`): every row staged goes in, once, in the
/// order staged, whatever the count; a conflict clause applies row by row;
/// a bad row fails its statement, and the transaction with it.
@Suite struct RowBatchTests {
    private static let insert = MultiRowInsert("INSERT INTO t (a, b, c)", columns: 3)

    private func scratch(_ body: (SQLiteConnection) throws -> Void) throws {
        let directory = try EarlierSchema.directory("rowbatch")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let connection = try SQLiteConnection(path: directory + "/rows.sqlite")
        defer { connection.close() }
        try connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b TEXT, c BLOB)")
        try body(connection)
    }

    @Test func everyRowGoesInOnceInOrder() throws {
        for count in [0, 1, 2, 3, 5, 31, 32, 33, 63, 64, 65, 100, 127, 200] {
            try scratch { connection in
                var batch = RowBatch(Self.insert, expectedRows: count)
                try connection.transaction {
                    for row in 0..<count {
                        try batch.append([.integer(Int64(row)), row % 3 == 0 ? .null : .text("r\(row)"), .blob([UInt8(row % 256), 7])],
                                         on: connection)
                    }
                    #expect(batch.stagedRows == count % MultiRowInsert.largestChunk, "a full chunk is written as it fills")
                    try batch.flush(on: connection)
                }
                #expect(batch.stagedRows == 0)
                let rows = try connection.query("SELECT a, b, c FROM t ORDER BY id")
                #expect(rows.count == count, "\(count) rows")
                for (index, row) in rows.enumerated() {
                    #expect(row == [.integer(Int64(index)), index % 3 == 0 ? .null : .text("r\(index)"), .blob([UInt8(index % 256), 7])],
                            "row \(index) of \(count)")
                }
            }
        }
    }

    @Test func chunksArePowersOfTwoUpToTheLargest() {
        for rows in 0...300 {
            let sizes = RowBatch.chunkSizes(for: rows)
            #expect(sizes.reduce(0, +) == rows)
            #expect(sizes.allSatisfy { $0 > 0 && $0 <= MultiRowInsert.largestChunk && $0 & ($0 - 1) == 0 }, "\(rows): \(sizes)")
            #expect(sizes == sizes.sorted(by: >))
            // What is left after full chunks goes in one statement per binary digit.
            #expect(sizes.count == rows / 32 + (rows % 32).nonzeroBitCount, "\(rows): \(sizes)")
        }
        for rows in [1, 2, 4, 8, 16, 32] {
            let text = Self.insert.text(rows: rows)
            #expect(text.filter { $0 == "?" }.count == rows * 3)
            #expect(text.hasPrefix("INSERT INTO t (a, b, c) VALUES (?, ?, ?)"))
        }
    }

    /// `INSERT OR REPLACE` (how `recent_packets` keeps the last uplink of an
    /// identifier) applies to each row as it goes in: of two rows with one
    /// key, in one statement or two, the later stays.
    @Test func aConflictClauseAppliesRowByRow() throws {
        try scratch { connection in
            try connection.execute("CREATE TABLE last (key INTEGER PRIMARY KEY, value INTEGER NOT NULL)")
            var batch = RowBatch(MultiRowInsert("INSERT OR REPLACE INTO last (key, value)", columns: 2))
            try connection.transaction {
                for row in 0..<70 { try batch.append([.integer(Int64(row % 25)), .integer(Int64(row))], on: connection) }
                try batch.flush(on: connection)
            }
            let rows = try connection.query("SELECT key, value FROM last ORDER BY key")
            #expect(rows.count == 25)
            for row in rows {
                let key = row[0].int ?? -1
                #expect(row[1].int == (key < 20 ? key + 50 : key + 25), "\(row)")
            }
        }
    }

    /// A row SQLite refuses fails the statement that carries it; the
    /// caller's transaction then takes none of the batch's rows.
    @Test func aBadRowFailsItsTransaction() throws {
        try scratch { connection in
            var batch = RowBatch(Self.insert)
            #expect(throws: SQLiteError.self) {
                try connection.transaction {
                    for row in 0..<40 { try batch.append([row == 37 ? .null : .integer(Int64(row)), .null, .null], on: connection) }
                    try batch.flush(on: connection)
                }
            }
            let kept = try connection.scalar("SELECT count(*) FROM t")
            #expect(kept == 0)
        }
    }
}
