import Readings

/// When each device reports, in simulated time: every interval (its own,
/// else the fleet's), give or take `jitter`. With jitter the first reports
/// spread over one interval, as a real fleet is never in step; without it
/// every device reports at start + k·interval, in fleet order, so a run is
/// plain round-robin. A min-heap on (time, device), so a 10,000-device city
/// costs O(log n) per frame.
public struct FleetSchedule: Sendable {
    let intervals: [Int64]
    let jitter: Int64
    var generator: SeededGenerator
    private var heap: [Entry] = []

    struct Entry: Sendable {
        var time: EpochMillis
        var slot: Int
        func before(_ other: Entry) -> Bool { time != other.time ? time < other.time : slot < other.slot }
    }

    public init(intervals: [Int64], start: EpochMillis, jitterMillis: Int64, seed: UInt64) {
        self.intervals = intervals
        jitter = max(0, jitterMillis)
        generator = SeededGenerator(seed: seed ^ 0x5C4E_D01E)
        heap.reserveCapacity(intervals.count)
        for (slot, interval) in intervals.enumerated() {
            let offset = jitter > 0 ? Int64.random(in: 0..<max(1, interval), using: &generator) : 0
            push(Entry(time: start + offset, slot: slot))
        }
    }

    /// The next report: which device, and its simulated time.
    public mutating func next() -> (slot: Int, time: EpochMillis) {
        let first = heap[0]
        var following = first.time + intervals[first.slot]
        if jitter > 0 { following += Int64.random(in: -jitter...jitter, using: &generator) }
        // Never before the report just made (a jitter larger than the interval).
        heap[0] = Entry(time: max(first.time + 1, following), slot: first.slot)
        siftDown(0)
        return (first.slot, first.time)
    }

    private mutating func push(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].before(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count && heap[left].before(heap[smallest]) { smallest = left }
            if right < heap.count && heap[right].before(heap[smallest]) { smallest = right }
            if smallest == parent { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
