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
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        shell.arguments = ["-readonly", path, sql]
        let pipe = Pipe()
        shell.standardOutput = pipe
        try shell.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        shell.waitUntilExit()
        guard shell.terminationStatus == 0 else { throw FixtureError("sqlite3 failed on \(sql)") }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}
