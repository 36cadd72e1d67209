import Readings
import Synchronization

/// What each hub's delivery loop knows that the database does not: whether
/// the hub refuses our credentials, its last error and when delivery last
/// tried. The delivery services write it; `/api/status` and the page read it.
public final class HubStatusBoard: Sendable {
    public struct Entry: Sendable, Equatable {
        public var authPaused = false
        /// The hub's last complaint, cut to `maxErrorBytes`.
        public var lastError: String?
        public var lastErrorAt: EpochMillis?
        public var consecutiveFailures = 0
        /// Aggregates sent and not yet answered.
        public var inFlight = 0
    }

    static let maxErrorBytes = 300
    private let entries = Mutex<[String: Entry]>([:])

    public init() {}

    public subscript(hub: String) -> Entry { entries.withLock { $0[hub] ?? Entry() } }

    func update(_ hub: String, _ change: (inout Entry) -> Void) {
        entries.withLock { change(&$0[hub, default: Entry()]) }
    }

    func failed(_ hub: String, error: String, at time: EpochMillis, authPaused: Bool) {
        update(hub) {
            $0.lastError = BoundedText.prefix(error, maxBytes: Self.maxErrorBytes)
            $0.lastErrorAt = time
            $0.consecutiveFailures += 1
            $0.authPaused = authPaused
        }
    }

    func succeeded(_ hub: String) {
        update(hub) {
            $0.consecutiveFailures = 0
            $0.authPaused = false
        }
    }
}
