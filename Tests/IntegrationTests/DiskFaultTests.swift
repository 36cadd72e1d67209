import Foundation
import Testing

/// The state directory on a real, small file system (issue 15, items 1 and
/// 2): filled to the last byte, grown, remounted read-only. While the store
/// cannot commit, the gateway acknowledges nothing and holds nothing in
/// memory: the broker keeps the uplinks in the persistent session. A SIGTERM
/// and a restart while the disk is full lose nothing.
@Suite(.serialized, .enabled(if: Tmpfs.available, "mounting a tmpfs needs root (CI runs as root)"))
struct DiskFaultTests {
    /// A gateway on `database`, and the first 100 uplinks committed.
    func gatewayWithFirstUplinks(_ broker: Broker, _ directory: String, config: String, database: String) async throws -> GatewayProcess {
        let gateway = try await GatewayProcess(broker: broker, directory: directory, config: config, database: database)
        _ = try await runSimulator(["--broker", broker.url, "--count", "100", "--rate", "500"], directory: directory)
        try await gateway.waitFor("the first uplinks committed", timeout: .seconds(30)) {
            try await gateway.metric("citygate_uplinks_committed_total") == 100
        }
        return gateway
    }

    func uplinkRows(_ database: String) throws -> [String] {
        try SQLiteRows(path: database).strings("SELECT count(*), count(DISTINCT message_hash) FROM uplinks")
    }

    @Test func aFullDiskLosesNothingAcrossASigtermAndARestart() async throws {
        let directory = try TestEnvironment.temporaryDirectory("disk-full")
        let disk = try Tmpfs(path: directory + "/state", size: "8m")
        let broker = try await Broker(directory: directory)
        // No free-disk floor: the store runs into the real ENOSPC (SQLITE_FULL).
        let config = try TestConfig.shipped(directory, "[store]\nmin_free_disk = \"0B\"\n")
        let database = disk.path + "/citygate.sqlite"
        var gateway = try await gatewayWithFirstUplinks(broker, directory, config: config, database: database)

        disk.fill()
        let more = 3000
        _ = try await runSimulator(["--broker", broker.url, "--count", "\(more)", "--rate", "1500", "--seed", "2"], directory: directory)
        try await gateway.waitFor("intake paused on the full disk", timeout: .seconds(60)) {
            try await gateway.metric("citygate_intake_paused") == 1
        }
        #expect(gateway.process.log.contains("store full: uplinks not acknowledged"))
        // Stopped and started again while the disk is still full.
        #expect(await gateway.process.stop() == 0, "\(gateway.process.log.suffix(2000))")
        gateway = try await GatewayProcess(broker: broker, directory: directory, config: config, database: database)
        try await gateway.waitFor("paused again after the restart", timeout: .seconds(60)) {
            try await gateway.metric("citygate_intake_paused") == 1
        }
        #expect(gateway.process.isRunning)

        // Space returns (the file system grows): every uplink arrives, once.
        try disk.remount("size=96m")
        try await gateway.waitFor("every uplink stored", timeout: .seconds(120)) {
            try uplinkRows(database) == ["\(100 + more)|\(100 + more)"]
        }
        try await gateway.waitFor("intake running", timeout: .seconds(30)) {
            try await gateway.metric("citygate_intake_paused") == 0
        }
        // The simulator sends no frame twice: none may be taken for a copy of
        // itself. (A commit that failed on the full disk must leave no trace in
        // the store's copies of the session rows, `StoredRowCache`; when it
        // did, every frame of the failed bursts came back as its own copy.)
        try await gateway.waitFor("every uplink recorded", timeout: .seconds(60)) {
            try SQLiteRows(path: database).strings("SELECT count(*) FROM uplinks WHERE state = 0") == ["0"]
        }
        #expect(try SQLiteRows(path: database).strings("SELECT count(*) FROM uplinks WHERE state = 3") == ["0"])
        FaultMatrix.record("disk full, SIGTERM and restart while full", sent: 100 + more, acknowledged: 100 + more, stored: 100 + more,
                           storedTwice: 0, up: gateway.process.isRunning, note: "8 MiB tmpfs filled, then grown to 96 MiB")
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }

    @Test(.enabled(if: Ext4Image.available, "needs loop devices and ext4 (an error remount is what makes a busy store read-only)"))
    func aReadOnlyRemountAcknowledgesNothingUntilRepaired() async throws {
        let directory = try TestEnvironment.temporaryDirectory("disk-ro")
        let disk = try Ext4Image(path: directory + "/state", megabytes: 64)
        let broker = try await Broker(directory: directory)
        // An error remount drops the page cache's unwritten pages, as a power
        // loss does: only fsynced commits survive it (`synchronous = "full"`;
        // with "normal" the last commits may roll back, as documented).
        let config = try TestConfig.shipped(directory, "synchronous = \"full\"\n[store]\nmin_free_disk = \"0B\"\n")
        let database = disk.path + "/citygate.sqlite"
        var gateway = try await gatewayWithFirstUplinks(broker, directory, config: config, database: database)

        try disk.failReadOnly()
        #expect(disk.isReadOnly)
        let more = 1000
        _ = try await runSimulator(["--broker", broker.url, "--count", "\(more)", "--rate", "1000", "--seed", "2"], directory: directory)
        try await gateway.waitFor("commits failing", timeout: .seconds(30)) {
            try await gateway.metric("citygate_store_commit_failing") == 1
        }
        #expect(await TestEnvironment.get("http://127.0.0.1:\(gateway.httpPort)/health/ready")?.status == 503)
        try await Task.sleep(for: .seconds(2))
        #expect(gateway.process.isRunning, "the daemon stays up on a read-only store")
        #expect(try await gateway.metric("citygate_uplinks_committed_total") <= 100)

        // The operator stops the daemon, repairs the file system, starts it again.
        await gateway.process.stop()
        try disk.repair()
        gateway = try await GatewayProcess(broker: broker, directory: directory, config: config, database: database)
        try await gateway.waitFor("every uplink stored", timeout: .seconds(60)) {
            try uplinkRows(database) == ["\(100 + more)|\(100 + more)"]
        }
        FaultMatrix.record("read-only remount (ext4 error), repair, restart", sent: 100 + more, acknowledged: 100 + more, stored: 100 + more,
                           storedTwice: 0, up: true, note: "daemon up and not ready while read-only; restarted after fsck")
        #expect(await gateway.process.stop() == 0)
        broker.process.forceStop()
    }
}
