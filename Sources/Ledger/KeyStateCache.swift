import Events
import Projections
import Store

/// The key states the projector folds, kept between its rounds: each round folds its
/// events into the states in place (no decode of the row, no copy of the state per
/// event) and writes each key it changed once, at the end of the round's transaction.
///
/// The states are exactly the rows of the table as the last committed round left them,
/// plus what the open round folded: a round whose transaction does not commit (or runs
/// again, after the map grew) must ``discard()`` them, and so must anything that writes
/// the table itself (a replay). At most ``capacity`` keys are kept past a commit.
struct KeyStateCache {
    private struct Entry {
        /// Nil once forgotten (the row was written past the cache): read again when needed.
        var state: KeyState?
        /// What the table's row holds of the index entries (as the last write left them).
        var stored: KeyState.Indexed?
        var dirty: Bool
    }

    /// By position; ``positions`` finds a key's.
    private var entries: [Entry] = []
    private var positions = KeyIndexTable()
    /// Positions changed since their last write, in first-change order.
    private var dirty: [Int] = []
    /// Keys kept past a commit at most: about 400 bytes each.
    static let capacity = 8_192

    /// Folds `event` (not a creation) into its key's state; returns the state's events
    /// after it, or nil when the key does not exist.
    mutating func fold(_ event: Event, _ keys: KeyStateProjection, _ txn: borrowing Transaction) throws -> UInt64? {
        let id = event.keyID
        let position: Int
        if let known = positions[id] {
            position = known
        } else {
            position = entries.count
            positions.insert(id, position)
            entries.append(Entry(state: nil, stored: nil, dirty: false))
        }
        if entries[position].state == nil {
            guard let state = try keys.state(of: id, in: txn) else { return nil }
            entries[position].stored = state.indexed
            entries[position].state = state
        }
        // In place, in the array's storage.
        entries[position].state!.fold(event)
        if !entries[position].dirty {
            entries[position].dirty = true
            dirty.append(position)
        }
        return entries[position].state!.events
    }

    /// The state of a key ``fold(_:_:_:)`` returned events for.
    func state(of id: KeyID) -> KeyState? { positions[id].flatMap { entries[$0].state } }

    /// Writes every changed state (in id order: the puts walk the table forwards).
    mutating func flush(_ keys: KeyStateProjection, _ txn: borrowing Transaction) throws {
        guard !dirty.isEmpty else { return }
        dirty.sort { entries[$0].state?.id ?? KeyID(high: 0, low: 0) < entries[$1].state?.id ?? KeyID(high: 0, low: 0) }
        for position in dirty {
            entries[position].dirty = false
            guard let state = entries[position].state else { continue }
            try keys.store(state, replacing: entries[position].stored, in: txn)
            entries[position].stored = state.indexed
        }
        dirty.removeAll(keepingCapacity: true)
    }

    /// The key's row is written past the cache (its creation): forgets the state, which
    /// must have been flushed.
    mutating func forget(_ id: KeyID) {
        guard let position = positions[id] else { return }
        entries[position].state = nil
        entries[position].stored = nil
    }

    /// The round's transaction committed: keeps the states, unless they are too many.
    mutating func committed() {
        if entries.count > Self.capacity { discard() }
    }

    /// Forgets every state (the table may no longer hold what they say).
    mutating func discard() {
        entries.removeAll(keepingCapacity: true)
        positions.removeAll()
        dirty.removeAll(keepingCapacity: true)
    }
}
