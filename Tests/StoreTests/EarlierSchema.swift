import Foundation
@testable import Store

/// Databases as an earlier citygate left them, for the migration tests.
enum EarlierSchema {
    /// A new scratch directory (the caller removes it).
    static func directory(_ name: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("citygate-\(name)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Writes a database at `path` with the first `version` migrations
    /// applied, then `fill` run on it, and closes it.
    static func database(at path: String, version: Int, fill: (SQLiteConnection) throws -> Void = { _ in }) throws {
        let old = try SQLiteConnection(path: path)
        for migration in Schema.migrations.prefix(version) { try Schema.apply(migration, to: old) }
        try old.execute("PRAGMA user_version = \(version)")
        try fill(old)
        old.close()
    }
}
