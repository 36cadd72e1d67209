import FoundationEssentials
import Readings
import Glibc

/// One daemon per database: `run` holds an exclusive `flock` on
/// `<database>.lock` for its lifetime. Other commands use it to learn whether
/// a daemon is running (`requeue` then leaves the decoding to it).
public final class DatabaseLock: Sendable {
    private let descriptor: Int32
    public let path: String

    /// Takes the lock, or returns nil when another process holds it.
    public init?(database: String) {
        path = database + ".lock"
        let directory = PathText.directory(of: path)
        // Made before the database, so it decides the state directory's mode:
        // the owner's alone, like the database (GatewayStore).
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        descriptor = fd
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
