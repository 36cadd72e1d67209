import Glibc

/// A thread of its own, outside Swift concurrency's cooperative pool, for
/// work that blocks: the MQTT network loop, the first MQTT 5 connect, and the
/// gateway's watchdog, which must keep running when the pool is stuck.
/// Foundation's `Thread` does the same but needs full Foundation, which the
/// daemon does not link (Readings' PlainText says why).
public enum DedicatedThread {
    /// Starts `body` on a new detached thread named `name` (as `top -H` and
    /// `ps -L` show it; Linux keeps the first 15 bytes).
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, dedicatedThreadEntry, context)
        // Out of threads (EAGAIN) is a broken machine: nothing here can run without one.
        precondition(rc == 0, "pthread_create failed for \(name): \(rc)")
        pthread_detach(thread)
    }

    /// The new thread's first Swift code: takes its work over from `start`.
    fileprivate static func run(_ context: UnsafeMutableRawPointer) {
        let start = Unmanaged<Start>.fromOpaque(context).takeRetainedValue()
        nameThisThread(start.name)
        start.body()
    }

    /// What pthread_setname_np does for the calling thread (Swift's Glibc
    /// module does not export that GNU extension): its name in /proc.
    private static func nameThisThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }

    /// Sleeps the calling thread (a dedicated one; never a task's).
    public static func sleep(seconds: Double) {
        guard seconds > 0 else { return }
        let whole = seconds.rounded(.down)
        var request = timespec(tv_sec: Int(whole), tv_nsec: Int((seconds - whole) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }

    private final class Start: @unchecked Sendable {  // handed over once, to the new thread
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) { self.name = name; self.body = body }
    }
}

/// The C entry point pthread_create calls (a plain function: no captures).
private func dedicatedThreadEntry(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    if let context { DedicatedThread.run(context) }
    return nil
}
