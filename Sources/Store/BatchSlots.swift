/// Where each key a processing batch touched sits in the batch's list of
/// entries, in the order first touched (`DeviceSessionBatch`, by device).
/// An uplink asks for its device several times in a row (its frame, its
/// activity, each reading), so the key found last is
/// tried before hashing (Benchmarks/RESULTS.md, issue 17, seventh step).
struct BatchSlots<Key: Hashable> {
    /// The keys, in the order added: `keys[slot]` is the key of entry `slot`.
    private(set) var keys: [Key] = []
    private var slots: [Key: Int] = [:]
    private var last = 0

    mutating func reserveCapacity(_ count: Int) {
        keys.reserveCapacity(count)
        slots.reserveCapacity(count)
    }

    /// The key's slot, if it has one.
    mutating func find(_ key: Key) -> Int? {
        if last < keys.count, keys[last] == key { return last }
        guard let slot = slots[key] else { return nil }
        last = slot
        return slot
    }

    /// Gives a key without a slot the next one (the caller appends its entry).
    mutating func add(_ key: Key) -> Int {
        keys.append(key)
        last = keys.count - 1
        slots[key] = last
        return last
    }
}
