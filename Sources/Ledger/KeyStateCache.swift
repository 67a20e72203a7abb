import Events
import Projections
import Store

/// Key states read and changed by the projector's fold within one transaction of the
/// projections, written back once per key at the end (or before a key is created),
/// instead of a decode and an encode per event. Never crosses transactions.
struct KeyStateCache {
    /// The state as stored in the table when first read, the state now, and whether it
    /// was updated since.
    private var entries: [KeyID: (stored: KeyState, current: KeyState, updated: Bool)] = [:]
    /// Keys updated since they were read, in first-update order.
    private var dirty: [KeyID] = []

    mutating func state(of id: KeyID, _ keys: KeyStateProjection, _ txn: borrowing Transaction) throws -> KeyState? {
        if let entry = entries[id] { return entry.current }
        guard let state = try keys.state(of: id, in: txn) else { return nil }
        entries[id] = (state, state, false)
        return state
    }

    /// Records the new state of a key previously returned by ``state(of:_:_:)``.
    ///
    /// Not compared with the stored state: every event of a key's stream counts in its
    /// state (``KeyState/events``), so an update is always a change.
    mutating func update(_ state: KeyState) {
        guard let entry = entries[state.id] else { return }
        if !entry.updated { dirty.append(state.id) }
        entries[state.id] = (entry.stored, state, true)
    }

    /// Writes every updated state and forgets everything.
    mutating func flush(_ keys: KeyStateProjection, _ txn: borrowing Transaction) throws {
        for id in dirty {
            guard let entry = entries[id] else { continue }
            try keys.store(entry.current, replacing: entry.stored.indexed, in: txn)
        }
        entries.removeAll(keepingCapacity: true)
        dirty.removeAll(keepingCapacity: true)
    }
}
