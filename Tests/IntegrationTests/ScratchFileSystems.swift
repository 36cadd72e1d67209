import Foundation
import Testing

/// A real, small file system for the gateway's state directory: a tmpfs the
/// test fills, grows (`remount,size=`) and remounts read-only. Mounting needs
/// root: CI runs as root; elsewhere the tests that use it are skipped.
final class Tmpfs: @unchecked Sendable {
    let path: String
    /// Root, and a tmpfs really mounts here (tried once).
    static let available: Bool = {
        guard getuid() == 0, let probe = try? TestEnvironment.temporaryDirectory("tmpfs-probe") else { return false }
        return (try? Tmpfs(path: probe + "/mnt", size: "1m")) != nil
    }()

    init(path: String, size: String) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Self.mount(["-t", "tmpfs", "-o", "size=\(size),mode=0755", "tmpfs", path])
    }

    /// `mount -o remount,<options>`: `size=64m`, `ro`, `rw`.
    func remount(_ options: String) throws {
        try Self.mount(["-o", "remount,\(options)", path])
    }

    /// Writes a filler file until the file system refuses (ENOSPC).
    /// Returns how many bytes it took.
    @discardableResult
    func fill() -> Int {
        let filler = path + "/filler-\(UUID().uuidString.prefix(6))"
        guard let file = fopen(filler, "w") else { return 0 }
        defer { fclose(file) }
        let chunk = [UInt8](repeating: 0x5a, count: 4096)
        var written = 0
        while fwrite(chunk, 1, chunk.count, file) == chunk.count, fflush(file) == 0 { written += chunk.count }
        return written
    }

    var freeBytes: Int64 {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return -1 }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    private static func mount(_ arguments: [String]) throws {
        let run = try capture("/usr/bin/mount", arguments)
        guard run.status == 0 else { throw FixtureError("mount \(arguments.joined(separator: " ")) failed") }
    }

    deinit { _ = try? capture("/usr/bin/umount", ["-l", path]) }
}

/// An ext4 image on a loop device, mounted `errors=remount-ro`: the kernel's
/// own emergency read-only remount (as on a field box whose SD card fails),
/// triggered through ext4's `trigger_fs_error` in sysfs. A plain
/// `mount -o remount,ro` is refused while the gateway holds files open for
/// writing, so this is the way a running store really goes read-only.
final class Ext4Image: @unchecked Sendable {
    let path: String
    let image: String
    /// Root, loop devices, mkfs.ext4 and ext4's sysfs error trigger (tried once).
    static let available: Bool = {
        guard Tmpfs.available, FileManager.default.isExecutableFile(atPath: "/usr/sbin/mkfs.ext4"),
              let probe = try? TestEnvironment.temporaryDirectory("ext4-probe"), let image = try? Ext4Image(path: probe + "/mnt", megabytes: 8)
        else { return false }
        return FileManager.default.fileExists(atPath: "/sys/fs/ext4/" + ((image.source as NSString).lastPathComponent) + "/trigger_fs_error")
    }()

    init(path: String, megabytes: Int) throws {
        self.path = path
        image = path + ".img"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: image, contents: nil), truncate(image, off_t(megabytes) << 20) == 0 else {
            throw FixtureError("cannot make \(image)")
        }
        guard try capture("/usr/sbin/mkfs.ext4", ["-q", "-F", image]).status == 0 else { throw FixtureError("mkfs.ext4 failed") }
        try mount()
    }

    func mount() throws {
        guard try capture("/usr/bin/mount", ["-o", "loop,errors=remount-ro", image, path]).status == 0 else {
            throw FixtureError("cannot mount \(image)")
        }
    }

    /// What ext4 does on a metadata error: the file system goes read-only at once.
    /// The loop device it is mounted from.
    var source: String {
        String(decoding: (try? capture("/usr/bin/findmnt", ["-n", "-o", "SOURCE", path]).output) ?? Data(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func failReadOnly() throws {
        let device = (source as NSString).lastPathComponent
        // Written in place: sysfs takes no temporary file and rename.
        guard let trigger = FileHandle(forWritingAtPath: "/sys/fs/ext4/\(device)/trigger_fs_error") else {
            throw FixtureError("cannot trigger an ext4 error on \(device)")
        }
        try trigger.write(contentsOf: Data("1".utf8))
        try trigger.close()
    }

    /// An operator's repair: unmount, fsck, mount again.
    func repair() throws {
        _ = try capture("/usr/bin/umount", [path])
        _ = try capture("/usr/sbin/e2fsck", ["-fy", image])
        try mount()
    }

    /// ext4 marks an error remount `emergency_ro` (the mount still lists `rw`).
    var isReadOnly: Bool {
        let options = String(decoding: (try? capture("/usr/bin/findmnt", ["-n", "-o", "OPTIONS", path]).output) ?? Data(), as: UTF8.self)
        return options.hasPrefix("ro") || options.contains("emergency_ro")
    }

    deinit {
        _ = try? capture("/usr/bin/umount", ["-l", path])
        try? FileManager.default.removeItem(atPath: image)
    }
}
