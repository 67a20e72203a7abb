public import Events

/// Positions by key id, for folds that look a key up per event: an open-addressing table
/// probed linearly from a multiplicative hash of the id, so a lookup costs one multiply
/// and usually one cache line, where a `Dictionary` runs SipHash over the 16 bytes.
public struct KeyIndexTable: Sendable {
    private struct Slot {
        var high: UInt64 = 0
        var low: UInt64 = 0
        /// The position plus one; zero marks an empty slot.
        var positionPlusOne: Int = 0
    }

    private var slots = [Slot](repeating: Slot(), count: 64)
    public private(set) var count = 0
    /// log2 of the slot count.
    private var bits = 6

    public init() {}

    /// A table with room for `minimumCapacity` ids before it grows.
    public init(minimumCapacity: Int) {
        while (1 << bits) < 2 * minimumCapacity { bits += 1 }
        slots = [Slot](repeating: Slot(), count: 1 << bits)
    }

    /// The position filed for `id`, or nil.
    public subscript(id: KeyID) -> Int? {
        slots.withUnsafeBufferPointer { slots in
            let mask = slots.count - 1
            var i = Self.home(id.high, id.low, bits)
            while true {
                let slot = slots[i]
                if slot.positionPlusOne == 0 { return nil }
                if slot.low == id.low, slot.high == id.high { return slot.positionPlusOne - 1 }
                i = (i + 1) & mask
            }
        }
    }

    /// Files `id` at `position`. - Precondition: `id` is not filed yet.
    public mutating func insert(_ id: KeyID, _ position: Int) {
        if (count + 1) * 2 > slots.count { grow() }
        place(Slot(high: id.high, low: id.low, positionPlusOne: position + 1))
        count += 1
    }

    /// Forgets every id, keeping the table's size.
    public mutating func removeAll() {
        guard count > 0 else { return }
        for i in slots.indices { slots[i] = Slot() }
        count = 0
    }

    private mutating func place(_ slot: Slot) {
        let mask = slots.count - 1
        var i = Self.home(slot.high, slot.low, bits)
        while slots[i].positionPlusOne != 0 { i = (i + 1) & mask }
        slots[i] = slot
    }

    private mutating func grow() {
        let old = slots
        bits += 1
        slots = [Slot](repeating: Slot(), count: 1 << bits)
        for slot in old where slot.positionPlusOne != 0 { place(slot) }
    }

    /// The slot a probe starts at: the top `bits` of a Fibonacci hash of the id.
    @inline(__always)
    private static func home(_ high: UInt64, _ low: UInt64, _ bits: Int) -> Int {
        Int(truncatingIfNeeded: ((high ^ low) &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - bits))
    }
}
