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
    /// By position (``positions`` finds a key's), in arrays of their own so that a look
    /// at one never copies a state: the id, the state (nil once forgotten, when the row
    /// was written past the cache: read again when needed), what the table's row holds
    /// of the index entries (as the last write left them), and whether it changed since.
    private var ids: [KeyID] = []
    private var states: [KeyState?] = []
    private var loaded: [Bool] = []
    private var stored: [KeyState.Indexed?] = []
    private var changed: [Bool] = []
    /// The attributes of the row as last written, encoded (nil: none kept).
    private var attributes: [KeyState.EncodedAttributes?] = []
    private var positions = KeyIndexTable()
    /// Positions changed since their last write, in first-change order.
    private var dirty: [Int] = []
    /// Encodes the rows the flush writes.
    private var writer = BinaryWriter(capacity: 512)
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
            position = ids.count
            positions.insert(id, position)
            ids.append(id)
            states.append(nil)
            loaded.append(false)
            stored.append(nil)
            changed.append(false)
            attributes.append(nil)
        }
        if !loaded[position] {
            guard let state = try keys.state(of: id, in: txn) else { return nil }
            stored[position] = state.indexed
            states[position] = state
            loaded[position] = true
        }
        // In place, in the array's storage.
        states[position]!.fold(event)
        if !changed[position] {
            changed[position] = true
            dirty.append(position)
        }
        return states[position]!.events
    }

    /// The state of a key ``fold(_:_:_:)`` returned events for.
    func state(of id: KeyID) -> KeyState? { positions[id].flatMap { states[$0] } }

    /// Writes every changed state (in id order: the puts walk the table forwards).
    mutating func flush(_ keys: KeyStateProjection, _ txn: borrowing Transaction) throws {
        guard !dirty.isEmpty else { return }
        dirty.sort { ids[$0] < ids[$1] }
        for position in dirty {
            changed[position] = false
            guard loaded[position], let state = states[position] else { continue }
            try keys.store(
                state, replacing: stored[position], in: txn, using: &writer, attributes: &attributes[position])
            stored[position] = state.indexed
        }
        dirty.removeAll(keepingCapacity: true)
    }

    /// The key's row is written past the cache (its creation): forgets the state, which
    /// must have been flushed.
    mutating func forget(_ id: KeyID) {
        guard let position = positions[id] else { return }
        states[position] = nil
        stored[position] = nil
        attributes[position] = nil
        loaded[position] = false
    }

    /// The round's transaction committed: keeps the states, unless they are too many.
    mutating func committed() {
        if ids.count > Self.capacity { discard() }
    }

    /// Forgets every state (the table may no longer hold what they say).
    mutating func discard() {
        ids.removeAll(keepingCapacity: true)
        states.removeAll(keepingCapacity: true)
        loaded.removeAll(keepingCapacity: true)
        stored.removeAll(keepingCapacity: true)
        changed.removeAll(keepingCapacity: true)
        attributes.removeAll(keepingCapacity: true)
        positions.removeAll()
        dirty.removeAll(keepingCapacity: true)
    }
}
