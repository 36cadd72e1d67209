import Foundation

/// Reads the gateway's database with the sqlite3 command-line shell, so
/// the test checks the file independently of the gateway's own store code.
struct SQLiteRows {
    let path: String

    init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw FixtureError("no database at \(path)") }
        self.path = path
    }

    func strings(_ sql: String) throws -> [String] {
        // A writer may hold the file (the hub's rollback-journal SQLite): wait up to 5 s.
        let run = try capture("/usr/bin/sqlite3", ["-readonly", "-cmd", ".timeout 5000", path, sql])
        guard run.status == 0 else { throw FixtureError("sqlite3 failed on \(sql)") }
        return String(decoding: run.output, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// Changes the file behind its owner's back (a test server's data lost),
    /// and returns what the statements print: several statements in one
    /// `BEGIN IMMEDIATE … COMMIT` see and change the file at one instant.
    @discardableResult
    func execute(_ sql: String) throws -> [String] {
        let run = try capture("/usr/bin/sqlite3", ["-cmd", ".timeout 5000", path, sql])
        guard run.status == 0 else { throw FixtureError("sqlite3 failed on \(sql)") }
        return String(decoding: run.output, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}
