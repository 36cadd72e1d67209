import Glibc

/// Writes to standard error (fd 2) directly: the log handler's lines and the
/// commands' error messages. A whole line goes in one write(2) where it can,
/// so lines from several threads do not interleave; a partial write or an
/// interrupted one is finished. FileHandle would need full Foundation (see
/// Readings' PlainText for why the daemon links FoundationEssentials only).
public enum StandardError {
    public static func write(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return  // nowhere left to say it
            }
            bytes = bytes.dropFirst(written)
        }
    }
}
