/// Whether copies are kept: they are while at least 1 lookup in 8 finds one.
/// Counted over rounds of `round` lookups; a round that found fewer stops
/// the copying for the next `pause` rounds (lookups that read rows, or know
/// there are none), after which copying starts again, from no copies, for a
/// round, and is judged again. A fleet within the capacity finds nearly
/// every row copied and never stops; with 100,000 devices sending nearly no
/// lookup finds one, and copying runs one round in nine.
struct CopyingPolicy {
    enum Decision { case unchanged, started, stopped }

    let round: Int
    let pause: Int
    private(set) var isCopying = true
    private var lookups = 0
    private var hits = 0
    private var roundsPaused = 0

    init(round: Int = 16_384, pause: Int = 8) {
        self.round = round
        self.pause = pause
    }

    mutating func note(hit: Bool) {
        lookups += 1
        if hit { hits += 1 }
    }

    /// At a transaction's beginning: judges each round that has ended.
    mutating func decide() -> Decision {
        guard lookups >= round else { return .unchanged }
        defer { lookups = 0; hits = 0 }
        if isCopying {
            guard hits < lookups / 8 else { return .unchanged }
            isCopying = false
            roundsPaused = 0
            return .stopped
        }
        roundsPaused += 1
        guard roundsPaused >= pause else { return .unchanged }
        isCopying = true
        return .started
    }
}
