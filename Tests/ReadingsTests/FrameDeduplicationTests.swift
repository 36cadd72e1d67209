import Readings
import Testing

/// The frame-dedup rules as pure functions over a device's session.
@Suite struct FrameDeduplicationTests {
    let policy = DeduplicationPolicy(sessionResetBelow: 10)

    @Test func aFirstFrameOpensNoGap() {
        let placement = FrameDeduplication.place(fCnt: 500, id: 7, session: nil, policy: policy)
        #expect(placement == .init(sessionStart: 0, gap: 0))
        let noted = FrameDeduplication.noting(fCnt: 500, as: .decoded, in: placement, session: nil, now: 1_000, policy: policy)
        #expect(noted.start == 0 && noted.lastFCnt == 500 && noted.recent.lastKeptAt == 1_000 && noted.recent.decoded.contains(offset: 0))
    }

    @Test func aCounterAheadByMoreThanOneCountsTheFramesInBetween() {
        let session = DeviceSession(start: 3, lastFCnt: 10)
        #expect(FrameDeduplication.place(fCnt: 11, id: 9, session: session, policy: policy).gap == 0)
        #expect(FrameDeduplication.place(fCnt: 14, id: 9, session: session, policy: policy) == .init(sessionStart: 3, gap: 3))
        // A frame behind the last counter (a late copy, at or above the reset
        // threshold) stays in the session, which keeps its highest counter.
        let later = DeviceSession(start: 3, lastFCnt: 100)
        let placement = FrameDeduplication.place(fCnt: 50, id: 9, session: later, policy: policy)
        #expect(placement == .init(sessionStart: 3, gap: 0))
        let noted = FrameDeduplication.noting(fCnt: 50, as: .decoded, in: placement, session: later, now: 1_000, policy: policy)
        #expect(noted.start == 3 && noted.lastFCnt == 100 && noted.recent.decoded.contains(offset: 50))
    }

    @Test func aCounterRestartingNearZeroStartsASessionAtThatFrame() {
        let session = DeviceSession(start: 3, lastFCnt: 4_000)
        let placement = FrameDeduplication.place(fCnt: 2, id: 99, session: session, policy: policy)
        #expect(placement == .init(sessionStart: 99, gap: 0))
        let noted = FrameDeduplication.noting(fCnt: 2, as: .decoded, in: placement, session: session, now: 1_000, policy: policy)
        #expect(noted.start == 99 && noted.lastFCnt == 2 && noted.recent.decoded.words == [1, 0, 0, 0])
        // Above the reset threshold a lower counter is an old frame of the same session.
        #expect(FrameDeduplication.place(fCnt: 10, id: 99, session: session, policy: policy).sessionStart == 3)
    }

    /// The window's shift, done in place on its four inline words, against a
    /// set of offsets moved one by one: every distance from 0 past the span,
    /// over random windows.
    @Test func aWindowAdvancesAsItsOffsetsMoveUp() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        for distance in Array(0...CounterWindow.span + 3) + [1_000, .max] {
            var window = CounterWindow()
            var offsets: Set<Int64> = []
            for _ in 0..<40 {
                let offset = Int64(next() % UInt64(CounterWindow.span))
                window.insert(offset: offset)
                offsets.insert(offset)
            }
            window.advance(by: distance)
            let expected = Set(offsets.compactMap { offset -> Int64? in
                let (moved, overflow) = offset.addingReportingOverflow(distance)
                return !overflow && moved < CounterWindow.span ? moved : nil
            })
            let held = Set((0..<CounterWindow.span).filter { window.contains(offset: $0) })
            #expect(held == expected, "distance \(distance)")
            #expect(CounterWindow(words: window.words) == window)
        }
    }

    @Test func theExtremesOfA32BitCounterDoNotTrap() {
        let session = DeviceSession(start: 1, lastFCnt: Int64(UInt32.max))
        #expect(FrameDeduplication.place(fCnt: .max, id: 2, session: session, policy: policy).gap == 0)
        #expect(FrameDeduplication.place(fCnt: .max, id: 2, session: DeviceSession(start: 1, lastFCnt: 0), policy: policy).gap == Int64(UInt32.max) - 1)
        // A session row read back from a damaged database holds any Int64.
        for stored in [Int64.min, Int64.max, -1] {
            let damaged = DeviceSession(start: 1, lastFCnt: stored, recent: RecentFrames(lastKeptAt: 900, decoded: CounterWindow(words: [.max, .max, .max, .max])))
            for fCnt: UInt32 in [0, 11, .max] {
                let placement = FrameDeduplication.place(fCnt: fCnt, id: 2, session: damaged, policy: policy)
                _ = FrameDeduplication.isCopy(fCnt: fCnt, of: .decoded, in: placement, session: damaged, now: 1_000, policy: policy)
                let noted = FrameDeduplication.noting(fCnt: fCnt, as: .quarantined, in: placement, session: damaged, now: 1_000, policy: policy)
                #expect(noted.lastFCnt.map { $0 >= Int64(fCnt) } ?? false)
                _ = FrameDeduplication.forgetting(quarantined: fCnt, id: 2, session: damaged)
            }
        }
    }

    /// The window of kept counters against a plain set of them, over random
    /// frames: in order, late, repeated, and jumps past the whole window.
    @Test func theCounterWindowRemembersExactlyTheCountersWithinItsSpan() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            var session: DeviceSession?
            var kept: Set<Int64> = []
            var highest: Int64 = 1_000
            for step in 0..<400 {
                let jump = Int64.random(in: 0..<20, using: &generator) == 0 ? Int64.random(in: 200..<700, using: &generator) : Int64.random(in: -300..<4, using: &generator)
                let fCnt = UInt32(max(10, highest + jump))
                let placement = FrameDeduplication.place(fCnt: fCnt, id: Int64(step), session: session, policy: policy)
                let remembered = (session?.lastFCnt).map { Int64(fCnt) >= $0 - CounterWindow.span + 1 && kept.contains(Int64(fCnt)) } ?? false
                #expect(FrameDeduplication.isCopy(fCnt: fCnt, of: .decoded, in: placement, session: session, now: 5_000, policy: policy) == remembered,
                        "fCnt \(fCnt), highest \(highest)")
                #expect(!FrameDeduplication.isCopy(fCnt: fCnt, of: .quarantined, in: placement, session: session, now: 5_000, policy: policy))
                session = FrameDeduplication.noting(fCnt: fCnt, as: .decoded, in: placement, session: session, now: 5_000, policy: policy)
                kept.insert(Int64(fCnt))
                highest = step == 0 ? Int64(fCnt) : max(highest, Int64(fCnt))
                #expect(session?.lastFCnt == highest)
            }
        }
    }

    @Test func copiesAreOfTheirKindInTheirSessionWithinTheWindow() {
        let window = DeduplicationPolicy(frameWindowMillis: 60_000, sessionResetBelow: 10)
        let first = FrameDeduplication.place(fCnt: 100, id: 1, session: nil, policy: window)
        let session = FrameDeduplication.noting(fCnt: 100, as: .quarantined, in: first, session: nil, now: 10_000, policy: window)
        let again = FrameDeduplication.place(fCnt: 100, id: 2, session: session, policy: window)
        #expect(FrameDeduplication.isCopy(fCnt: 100, of: .quarantined, in: again, session: session, now: 69_999, policy: window))
        #expect(!FrameDeduplication.isCopy(fCnt: 100, of: .quarantined, in: again, session: session, now: 70_000, policy: window), "past the window")
        #expect(!FrameDeduplication.isCopy(fCnt: 100, of: .decoded, in: again, session: session, now: 20_000, policy: window), "quarantined, not decoded")
        // A device silent for longer than the window remembers nothing older.
        let later = FrameDeduplication.noting(fCnt: 101, as: .decoded, in: FrameDeduplication.place(fCnt: 101, id: 3, session: session, policy: window),
                                              session: session, now: 200_000, policy: window)
        #expect(!later.recent.quarantined.contains(offset: 1) && later.recent.decoded.contains(offset: 0))
        // A requeued quarantined frame is forgotten, in its session only.
        #expect(!FrameDeduplication.forgetting(quarantined: 100, id: 1, session: session).recent.quarantined.contains(offset: 0))
        let newer = DeviceSession(start: 5, lastFCnt: 100, recent: session.recent)
        #expect(FrameDeduplication.forgetting(quarantined: 100, id: 1, session: newer) == newer, "an uplink of an earlier session")
    }

    @Test func counterlessFramesAreRememberedWithinTheirWindowUpToTheCapacity() {
        let window = DeduplicationPolicy(uncountedWindowMillis: 10_000)
        var session: DeviceSession?
        for index in 0..<12 {
            session = FrameDeduplication.noting(fingerprint: Int64(index), session: session, now: 1_000 + Int64(index), policy: window)
        }
        #expect(session?.recent.fingerprints.map(\.value) == Array(4..<12))
        #expect(session?.start == 0 && session?.lastFCnt == nil)
        #expect(FrameDeduplication.isCopy(fingerprint: 11, session: session, now: 11_010, policy: window))
        #expect(!FrameDeduplication.isCopy(fingerprint: 11, session: session, now: 11_011, policy: window), "past the window")
        #expect(!FrameDeduplication.isCopy(fingerprint: 3, session: session, now: 1_100, policy: window), "beyond the capacity")
        let pruned = FrameDeduplication.noting(fingerprint: 99, session: session, now: 11_005, policy: window)
        #expect(pruned.recent.fingerprints.map(\.value) == [6, 7, 8, 9, 10, 11, 99])
    }

    /// The stored hash: changing FNV-1a would make every stored hash miss.
    @Test func fnv1aIsTheStandardFunction() {
        #expect(FNV1a.hash([]) == Int64(bitPattern: 0xcbf2_9ce4_8422_2325))
        #expect(FNV1a.hash(Array("a".utf8)) == Int64(bitPattern: 0xaf63_dc4c_8601_ec8c))
        #expect(FNV1a.hash(Array("foobar".utf8)) == Int64(bitPattern: 0x8594_4171_f739_67e8))
    }
}
