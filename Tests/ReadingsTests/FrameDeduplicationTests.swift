import Readings
import Testing

/// The frame-dedup rules as pure functions over a device's session.
@Suite struct FrameDeduplicationTests {
    let policy = DeduplicationPolicy(sessionResetBelow: 10)

    @Test func aFirstFrameOpensNoGap() {
        let placement = FrameDeduplication.place(fCnt: 500, id: 7, session: nil, policy: policy)
        #expect(placement == .init(sessionStart: 0, gap: 0))
        #expect(FrameDeduplication.noting(fCnt: 500, in: placement, session: nil) == DeviceSession(start: 0, lastFCnt: 500))
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
        #expect(FrameDeduplication.noting(fCnt: 50, in: placement, session: later) == later)
    }

    @Test func aCounterRestartingNearZeroStartsASessionAtThatFrame() {
        let session = DeviceSession(start: 3, lastFCnt: 4_000)
        let placement = FrameDeduplication.place(fCnt: 2, id: 99, session: session, policy: policy)
        #expect(placement == .init(sessionStart: 99, gap: 0))
        #expect(FrameDeduplication.noting(fCnt: 2, in: placement, session: session) == DeviceSession(start: 99, lastFCnt: 2))
        // Above the reset threshold a lower counter is an old frame of the same session.
        #expect(FrameDeduplication.place(fCnt: 10, id: 99, session: session, policy: policy).sessionStart == 3)
    }

    @Test func theExtremesOfA32BitCounterDoNotTrap() {
        let session = DeviceSession(start: 1, lastFCnt: Int64(UInt32.max))
        #expect(FrameDeduplication.place(fCnt: .max, id: 2, session: session, policy: policy).gap == 0)
        #expect(FrameDeduplication.place(fCnt: .max, id: 2, session: DeviceSession(start: 1, lastFCnt: 0), policy: policy).gap == Int64(UInt32.max) - 1)
    }

    /// The stored hash: changing FNV-1a would make every stored hash miss.
    @Test func fnv1aIsTheStandardFunction() {
        #expect(FNV1a.hash([]) == Int64(bitPattern: 0xcbf2_9ce4_8422_2325))
        #expect(FNV1a.hash(Array("a".utf8)) == Int64(bitPattern: 0xaf63_dc4c_8601_ec8c))
        #expect(FNV1a.hash(Array("foobar".utf8)) == Int64(bitPattern: 0x8594_4171_f739_67e8))
    }
}
