/// Group commit for the own loop's read bursts: when the socket runs dry
/// before a burst has `packets` messages, the loop waits up to `window` (from
/// the burst's first message) for more. Each burst is one commit, and a commit
/// rewrites the pages its devices' rows sit on however few uplinks it holds:
/// at 100 uplinks per commit an uplink cost a third more CPU and bytes written
/// than at 400, and waiting made the load test's bursts about 120 messages
/// instead of 20–60 (Benchmarks/RESULTS.md, issue 17).
///
/// A wait pays only if the broker sends more while it lasts. A broker that
/// holds each delivery back until it has the PUBACKs of those in flight (an
/// in-flight window of 1) never does, and every message would wait its
/// `window`: about 1,400 uplinks a second instead of 6,800. So waiting goes
/// on once some wait has brought a message (`isPaying`); until then, after
/// `fruitlessLimit` bursts whose waits brought nothing, the loop stops waiting
/// and tries once every `retryAfter` bursts (with a window of 1: 5,400–5,700
/// uplinks a second). A quiet fleet stops it too. With 3 and 100 the first
/// bursts of a load, whose waits often bring nothing yet, stopped it for most
/// of the load test.
struct BurstGathering {
    static let packets = 64
    static let window = Duration.microseconds(500)
    static let fruitlessLimit = 16
    static let retryAfter = 16

    /// Some wait has brought a message: the broker sends while the loop waits.
    private(set) var isPaying = false
    /// Bursts in a row whose waits brought nothing, while not `isPaying`.
    private(set) var fruitless = 0
    /// Bursts not made to wait since waiting stopped.
    private var skipped = 0
    /// The burst in progress waited, and got messages while it did.
    private var waited = false
    private var gained = false

    /// How long a burst of `packets` messages, begun `elapsed` ago, waits for
    /// more now that the socket is empty; nil: hand it over.
    mutating func wait(packets: Int, elapsed: Duration) -> Duration? {
        guard packets < Self.packets, elapsed < Self.window else { return nil }
        if !isPaying && !waited && fruitless >= Self.fruitlessLimit {
            skipped += 1
            guard skipped >= Self.retryAfter else { return nil }
            skipped = 0
        }
        waited = true
        return Self.window - elapsed
    }

    /// A wait `wait` allowed found bytes to read, or ran out.
    mutating func waited(found: Bool) {
        if found { gained = true }
    }

    /// The burst was handed over.
    mutating func burstEnded() {
        if waited {
            if gained {
                isPaying = true
                fruitless = 0
            } else if !isPaying {
                fruitless += 1
            }
        }
        waited = false
        gained = false
    }
}
