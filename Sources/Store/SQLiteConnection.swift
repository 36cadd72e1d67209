import CSQLite

/// An SQLite failure: the result code, SQLite's message and the statement.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let message: String
    public let sql: String?

    public var description: String {
        "sqlite error \(code): \(message)" + (sql.map { " in `\($0.prefix(80))`" } ?? "")
    }

    /// SQLITE_FULL: the disk (or `max_page_count`) is full.
    public var isDiskFull: Bool { code & 0xFF == SQLITE_FULL }
    /// SQLITE_BUSY / SQLITE_LOCKED: another connection holds the lock.
    public var isBusy: Bool { code & 0xFF == SQLITE_BUSY || code & 0xFF == SQLITE_LOCKED }
}

/// A value bound to or read from a statement.
public enum SQLiteValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])

    public var int: Int64? { if case let .integer(v) = self { return v } else { return nil } }
    public var string: String? { if case let .text(v) = self { return v } else { return nil } }
    public var bytes: [UInt8]? { if case let .blob(v) = self { return v } else { return nil } }
}

/// A thin owner of one `sqlite3*` handle and its prepared statements.
/// Not thread-safe on its own: `GatewayStore` serialises every use.
final class SQLiteConnection {
    private var handle: OpaquePointer?
    private var statements: [StatementKey: OpaquePointer] = [:]

    /// The prepared-statement cache's key: the SQL text, hashed by its length
    /// and three 8-byte samples of it rather than every byte. Statements are
    /// a few hundred bytes and looked up several times per uplink; hashing
    /// each whole was about 3 % of ingest (Benchmarks/RESULTS.md, issue 17).
    /// Equality is still the whole text, so texts that share the samples
    /// only share a bucket chain.
    private struct StatementKey: Hashable {
        let sql: String

        static func == (a: StatementKey, b: StatementKey) -> Bool { a.sql == b.sql }

        func hash(into hasher: inout Hasher) {
            var sql = sql
            sql.withUTF8 { bytes in
                hasher.combine(bytes.count)
                guard bytes.count >= 8 else { return hasher.combine(bytes: UnsafeRawBufferPointer(bytes)) }
                let raw = UnsafeRawBufferPointer(bytes), last = bytes.count - 8
                // Past "SELECT " or "INSERT ", the middle, the end.
                hasher.combine(raw.loadUnaligned(fromByteOffset: min(7, last), as: UInt64.self))
                hasher.combine(raw.loadUnaligned(fromByteOffset: last / 2, as: UInt64.self))
                hasher.combine(raw.loadUnaligned(fromByteOffset: last, as: UInt64.self))
            }
        }
    }

    /// Process-wide SQLite settings, made before the first connection opens:
    /// no memory statistics (nothing here reads them, and keeping them took a
    /// global mutex per SQLite allocation: Benchmarks/RESULTS.md, issue 17).
    private static let configured: Void = { _ = csqlite_disable_memory_statistics() }()

    init(path: String, readOnly: Bool = false) throws {
        _ = Self.configured
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let rc = sqlite3_open_v2(path, &handle, flags | SQLITE_OPEN_NOMUTEX, nil)
        if rc != SQLITE_OK {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(handle)
            handle = nil
            throw SQLiteError(code: rc, message: "\(message) (\(path))", sql: nil)
        }
        sqlite3_extended_result_codes(handle, 1)
    }

    deinit { close() }

    func close() {
        for statement in statements.values { sqlite3_finalize(statement) }
        statements.removeAll()
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    private func error(_ rc: Int32, _ sql: String?) -> SQLiteError {
        SQLiteError(code: rc, message: handle.map { String(cString: sqlite3_errmsg($0)) } ?? "closed", sql: sql)
    }

    /// Runs one or more statements with no parameters and no result rows.
    func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? "error"
            sqlite3_free(message)
            throw SQLiteError(code: rc, message: text, sql: sql)
        }
    }

    private func prepared(_ sql: String) throws -> OpaquePointer {
        let key = StatementKey(sql: sql)
        if let statement = statements[key] { return statement }
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw error(rc, sql) }
        statements[key] = statement
        return statement
    }

    private func bind(_ statement: OpaquePointer, _ values: ArraySlice<SQLiteValue>, _ sql: String) throws {
        for (offset, value) in values.enumerated() {
            let position = Int32(offset + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(statement, position)
            case let .integer(v): rc = sqlite3_bind_int64(statement, position, v)
            // Through `withCString`: passing the String itself as the pointer
            // made an array copy of it first (`utf8CString`), a third of binding.
            case let .text(v): rc = v.withCString { sqlite3_bind_text(statement, position, $0, -1, csqlite_transient()) }
            case let .blob(v):
                rc = v.withUnsafeBytes { sqlite3_bind_blob(statement, position, $0.baseAddress, Int32($0.count), csqlite_transient()) }
            }
            if rc != SQLITE_OK { throw error(rc, sql) }
        }
    }

    private func column(_ statement: OpaquePointer, _ index: Int32) -> SQLiteValue {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, index))
        case SQLITE_TEXT: return .text(String(cString: sqlite3_column_text(statement, index)))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, index))
            guard count > 0, let pointer = sqlite3_column_blob(statement, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: pointer, count: count)))
        case SQLITE_FLOAT: return .integer(Int64(sqlite3_column_double(statement, index)))
        default: return .null
        }
    }

    /// Runs a statement and returns its rows.
    @discardableResult
    func query(_ sql: String, _ values: [SQLiteValue] = []) throws -> [[SQLiteValue]] {
        let statement = try prepared(sql)
        defer { sqlite3_reset(statement); sqlite3_clear_bindings(statement) }
        try bind(statement, values[...], sql)
        var rows: [[SQLiteValue]] = []
        let columns = sqlite3_column_count(statement)
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw error(rc, sql) }
            rows.append((0..<columns).map { column(statement, $0) })
        }
        return rows
    }

    /// Runs a statement that returns no rows; returns the number of rows changed.
    @discardableResult
    func run(_ sql: String, _ values: [SQLiteValue] = []) throws -> Int {
        try run(sql, values[...])
    }

    /// `run` with its values a part of a larger list (`RowBatch`'s rows).
    @discardableResult
    func run(_ sql: String, _ values: ArraySlice<SQLiteValue>) throws -> Int {
        let statement = try prepared(sql)
        defer { sqlite3_reset(statement); sqlite3_clear_bindings(statement) }
        try bind(statement, values, sql)
        let rc = sqlite3_step(statement)
        guard rc == SQLITE_DONE || rc == SQLITE_ROW else { throw error(rc, sql) }
        return Int(sqlite3_changes(handle))
    }

    func scalar(_ sql: String, _ values: [SQLiteValue] = []) throws -> Int64? {
        try query(sql, values).first?.first?.int
    }

    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }
}
