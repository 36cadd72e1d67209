/// Group commit for the own loop's read bursts: when the socket runs dry
/// before a burst has `packets` messages, the loop waits (from the burst's
/// first message) for more. Each burst is one commit, and a commit rewrites
/// the pages its devices' rows sit on however few uplinks it holds, and
/// writes each of its devices' session rows once: with 100 devices an uplink
/// costs 22.0 µs at 25 uplinks per commit, 19.6 at 50, 19.0–19.6 at 100 and
/// 16.3 at 200 (`path-cost.sh`; Benchmarks/RESULTS.md, issue 17).
///
/// A wait pays only if the broker sends more while it lasts. A broker that
/// holds each delivery back until it has the PUBACKs of those in flight (an
/// in-flight window of 1) never does, and every message would wait: about
/// 1,400 uplinks a second instead of 6,800 with a 0.5 ms wait. So waiting goes
/// on once some wait has brought a message (`isPaying`); until then, after
/// `fruitlessLimit` bursts whose waits brought nothing, the loop stops waiting
/// and tries once every `retryAfter` bursts (with a window of 1: 5,400–5,700
/// uplinks a second). A quiet fleet stops it too. With 3 and 100 the first
/// bursts of a load, whose waits often bring nothing yet, stopped it for most
/// of the load test.
///
/// Until a wait has paid, a burst gathers for at most `probeWindow`, so a
/// broker where waits never pay loses little to the tries. Once one has, a
/// burst gathers for up to `window` from its first message: under load that
/// makes bursts of about 200 rather than 90–100, and a few milliseconds
/// before a PUBACK are nothing beside a LoRaWAN uplink's airtime or a
/// 15-minute window. Ending a burst at the first 0.5 ms without a message
/// instead kept bursts at about 50: under load the broker delivers with
/// such gaps (Benchmarks/RESULTS.md, sixteenth step).
struct BurstGathering {
    static let packets = 256
    /// The longest a burst gathers while no wait has brought a message yet.
    static let probeWindow = Duration.microseconds(500)
    /// The longest a burst gathers once a wait has brought a message (`isPaying`).
    static let window = Duration.milliseconds(4)
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

    /// How long a burst may gather for, from its first message.
    var currentWindow: Duration { isPaying ? Self.window : Self.probeWindow }

    /// How long a burst of `packets` messages, begun `elapsed` ago, waits for
    /// more now that the socket is empty; nil: hand it over.
    mutating func wait(packets: Int, elapsed: Duration) -> Duration? {
        let window = currentWindow
        guard packets < Self.packets, elapsed < window else { return nil }
        if !isPaying && !waited && fruitless >= Self.fruitlessLimit {
            skipped += 1
            guard skipped >= Self.retryAfter else { return nil }
            skipped = 0
        }
        waited = true
        return window - elapsed
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
