import Events
import Projections

/// What the writer decides against, in memory: per key the facts a decision needs, in a
/// compact fixed layout (repeated strings and lists interned), and the secret digest ->
/// key lookup. Loaded from the key-state projection when the writer starts; every event
/// the writer appends is folded into it before the next command is decided.
///
/// Changes are journaled: ``mark()`` and ``rollback(to:)`` undo a failed command's
/// changes (or, from mark 0, a batch whose commit failed); ``committed()`` forgets them.
/// Owner and plan states (shared windows, credits) belong beside ``keys`` here.
///
/// Noncopyable: there is one, the executor's, and a call on it borrows it in place (a
/// copy of a class's stored struct for a call the optimizer cannot see through would
/// retain and release every table).
struct DecisionState: ~Copyable {
    /// One key's decision facts. Optional values use a sentinel (`Int64.min`: none).
    struct Entry {
        var id: KeyID
        var expiresAt: Int64
        var credits: Int64
        var previousSecretExpiresAt: Int64
        var lastUsedAt: Int64
        var version: UInt64
        var events: UInt64
        /// The key's rate-limit windows: `windowCount` of them from `windowStart` in ``windows``.
        var windowStart: UInt32
        var owner: UInt32
        var scopes: UInt32
        var accounts: UInt32
        var allowlist: UInt32
        var limits: UInt32
        /// What verification answers besides the decision (API.md, "Owners, plans and
        /// quotas"): the key's environment (a request may ask for one), name and metadata.
        var environment: UInt32
        var name: UInt32
        var metadata: UInt32
        var status: KeyStatus
    }

    private(set) var keys: [Entry] = []
    private var positions: [KeyID: UInt32] = [:]
    /// Digest -> position, the high bit set for a previous secret.
    private var secrets: [Digest: UInt32] = [:]
    private var windows: [RateWindow] = []
    private var owners = Interner<String>()
    private var stringLists = Interner<[String]>()
    private var allowlists = Interner<[CIDR]>()
    private var limitLists = Interner<[RateLimit]>()
    private var names = Interner<String>()
    private var metadataMaps = Interner<[String: String]>()
    /// Expiry times of keys that may still expire, a min-heap checked lazily.
    private var expiries = MinHeap<UInt32>()

    private enum Undo {
        case entry(UInt32, Entry, windowsAt: Int)
        case appended(KeyID)
        case secret(Digest, UInt32?)
    }
    private var journal: [Undo] = []
    private var journalWindows: [RateWindow] = []

    static let none = Int64.min
    private static let previousBit: UInt32 = 1 << 31

    var count: Int { keys.count }

    /// Makes room for `count` keys (before a load), so that the tables do not double
    /// past what they hold.
    mutating func reserve(_ count: Int) {
        keys.reserveCapacity(count)
        positions.reserveCapacity(count)
        secrets.reserveCapacity(count)
        windows.reserveCapacity(count)
    }

    /// The key `digest` opens, and whether it is the key's previous secret.
    func lookup(_ digest: Digest) -> (position: UInt32, previous: Bool)? {
        guard let value = secrets[digest] else { return nil }
        return (value & ~Self.previousBit, value & Self.previousBit != 0)
    }

    func position(of id: KeyID) -> UInt32? { positions[id] }

    /// The key `digest` opens: its position, how the secret matches at `now`
    /// (``match(_:previous:at:)``) and its ``decisionView(_:)``, in one call (what a
    /// verification asks, with one access to the state instead of three).
    func view(opening digest: Digest, at now: Int64) -> (
        position: UInt32, match: KeyState.SecretMatch, state: KeyState
    )? {
        guard let (position, previous) = lookup(digest) else { return nil }
        return (position, match(position, previous: previous, at: now), decisionView(position))
    }

    /// How `previous` (from ``lookup(_:)``) matches at `now`.
    func match(_ position: UInt32, previous: Bool, at now: Int64) -> KeyState.SecretMatch {
        guard previous else { return .current }
        let until = keys[Int(position)].previousSecretExpiresAt
        return until != Self.none && now < until ? .previous : .retired
    }

    /// The key as decisions see it: every fact of ``Entry`` filled in (name, environment
    /// and metadata included), the other descriptive fields (prefix, creation and
    /// rotation times, secret digests) left empty.
    func decisionView(_ position: UInt32) -> KeyState {
        let e = keys[Int(position)]
        // The facts that change at every access are placeholders here, set by
        // ``overlayDynamic(_:on:)``.
        var state = KeyState(
            id: e.id, owner: owners.value(e.owner), name: names.value(e.name), prefix: "",
            environment: owners.value(e.environment), status: .active, scopes: stringLists.value(e.scopes),
            accounts: stringLists.value(e.accounts), ipAllowlist: allowlists.value(e.allowlist),
            expiresAt: e.expiresAt == Self.none ? nil : e.expiresAt, rateLimits: limitLists.value(e.limits),
            windows: [], credits: nil, metadata: metadataMaps.value(e.metadata), createdAt: 0, lastUsedAt: nil,
            rotatedAt: nil, version: 0, events: 0, secretDigest: .zero, previousSecretDigest: nil,
            previousSecretExpiresAt: e.previousSecretExpiresAt == Self.none ? nil : e.previousSecretExpiresAt)
        overlayDynamic(e, on: &state)
        return state
    }

    /// `base` (a full state whose descriptive fields are current) with the facts that
    /// change at every access taken from here: the key's full current state.
    func current(_ base: KeyState) -> KeyState {
        guard let position = positions[base.id] else { return base }
        var state = base
        overlayDynamic(keys[Int(position)], on: &state)
        return state
    }

    private func overlayDynamic(_ e: Entry, on state: inout KeyState) {
        state.status = e.status
        state.credits = e.credits == Self.none ? nil : e.credits
        state.lastUsedAt = e.lastUsedAt == Self.none ? nil : e.lastUsedAt
        state.version = e.version
        state.events = e.events
        let count = state.rateLimits.count
        let start = Int(e.windowStart)
        state.windows = count == 0 ? [] : Array(windows[start..<start + count])
    }

    /// Stores what an access (or an expiry found by a verification) changed in `state`,
    /// a ``decisionView(_:)`` of the key at `position`.
    mutating func recordAccess(_ position: UInt32, _ state: KeyState) {
        let p = Int(position)
        journalEntry(position)
        keys[p].status = state.status
        keys[p].credits = state.credits ?? Self.none
        keys[p].lastUsedAt = state.lastUsedAt ?? Self.none
        keys[p].version = state.version
        keys[p].events = state.events
        let start = Int(keys[p].windowStart)
        for (i, window) in state.windows.enumerated() { windows[start + i] = window }
    }

    /// Stores a key's full state after a management event (or at load), moving its secret
    /// lookups from `old` (nil: a new key).
    mutating func store(_ state: KeyState, replacing old: KeyState?) {
        let position: UInt32
        let isNew = positions[state.id] == nil
        if let existing = positions[state.id] {
            position = existing
            journalEntry(position)
        } else {
            position = UInt32(keys.count)
            positions[state.id] = position
            keys.append(
                Entry(
                    id: state.id, expiresAt: 0, credits: 0, previousSecretExpiresAt: 0, lastUsedAt: 0, version: 0,
                    events: 0, windowStart: UInt32(windows.count), owner: 0, scopes: 0, accounts: 0, allowlist: 0,
                    limits: 0, environment: 0, name: 0, metadata: 0, status: .active))
            windows.append(contentsOf: repeatElement(RateWindow(), count: state.windows.count))
            journal.append(.appended(state.id))
        }
        let p = Int(position)
        var e = keys[p]
        let oldCount = isNew ? state.windows.count : limitLists.value(e.limits).count
        if state.windows.count > oldCount {
            e.windowStart = UInt32(windows.count)
            windows.append(contentsOf: repeatElement(RateWindow(), count: state.windows.count))
        }
        let start = Int(e.windowStart)
        for (i, window) in state.windows.enumerated() { windows[start + i] = window }
        e.expiresAt = state.expiresAt ?? Self.none
        e.credits = state.credits ?? Self.none
        e.previousSecretExpiresAt = state.previousSecretExpiresAt ?? Self.none
        e.lastUsedAt = state.lastUsedAt ?? Self.none
        e.version = state.version
        e.events = state.events
        e.owner = owners.intern(state.owner)
        e.scopes = stringLists.intern(state.scopes)
        e.accounts = stringLists.intern(state.accounts)
        e.allowlist = allowlists.intern(state.ipAllowlist)
        e.limits = limitLists.intern(state.rateLimits)
        e.environment = owners.intern(state.environment)
        e.name = names.intern(state.name)
        e.metadata = metadataMaps.intern(state.metadata)
        e.status = state.status
        keys[p] = e
        if old?.secretDigest != state.secretDigest || old?.previousSecretDigest != state.previousSecretDigest {
            for gone in [old?.secretDigest, old?.previousSecretDigest].compactMap({ $0 }) { setSecret(gone, nil) }
            if let previous = state.previousSecretDigest { setSecret(previous, position | Self.previousBit) }
            setSecret(state.secretDigest, position)
        }
        if let at = state.expiresAt, !state.status.isFinal, at != old?.expiresAt || old?.status.isFinal != false {
            expiries.push(at, position)
        }
    }

    /// Up to `limit` keys whose expiry has passed at `now` and that are not expired yet.
    mutating func expiring(atOrBefore now: Int64, limit: Int) -> [KeyID] {
        expiries(atOrBefore: now, limit: limit).map(\.id)
    }

    /// Up to `limit` keys not expired yet whose expiry is at or before `now`, with it,
    /// soonest first (no key's whole state is read: the sweeper's warnings scan many).
    mutating func expiries(atOrBefore now: Int64, limit: Int) -> [(id: KeyID, at: Int64)] {
        var due: [(Int64, UInt32)] = []
        while due.count < limit, let (at, position) = expiries.top, at <= now {
            expiries.pop()
            let e = keys[Int(position)]
            if e.expiresAt == at, !e.status.isFinal { due.append((at, position)) }
        }
        for (at, position) in due { expiries.push(at, position) }
        return due.map { (keys[Int($0.1)].id, $0.0) }
    }

    /// True when some key's expiry has passed at `now` (the sweeper's check).
    mutating func hasExpiring(atOrBefore now: Int64) -> Bool { !expiring(atOrBefore: now, limit: 1).isEmpty }

    private mutating func setSecret(_ digest: Digest, _ value: UInt32?) {
        journal.append(.secret(digest, secrets[digest]))
        secrets[digest] = value
    }

    private mutating func journalEntry(_ position: UInt32) {
        let e = keys[Int(position)]
        let count = limitLists.value(e.limits).count
        let start = Int(e.windowStart)
        journal.append(.entry(position, e, windowsAt: journalWindows.count))
        journalWindows.append(contentsOf: windows[start..<start + count])
    }

    /// A point to roll back to.
    func mark() -> Int { journal.count }

    /// Undoes every change since `mark`, newest first.
    mutating func rollback(to mark: Int) {
        while journal.count > mark {
            switch journal.removeLast() {
            case .entry(let position, let entry, let at):
                keys[Int(position)] = entry
                let count = limitLists.value(entry.limits).count
                let start = Int(entry.windowStart)
                for i in 0..<count { windows[start + i] = journalWindows[at + i] }
                journalWindows.removeSubrange(at...)
            case .appended(let id):
                positions[id] = nil
                keys.removeLast()
            case .secret(let digest, let value):
                secrets[digest] = value
            }
        }
    }

    /// The batch is durable: its changes stay.
    mutating func committed() {
        journal.removeAll(keepingCapacity: journal.capacity < 65_536)
        journalWindows.removeAll(keepingCapacity: journalWindows.capacity < 65_536)
    }

    /// Bytes held, counted from the storage's capacities (for the memory benchmark): a
    /// hash table of capacity c has 4c/3 buckets, each a key, a value and a bit.
    var approximateBytes: Int {
        func table(_ capacity: Int, _ entry: Int) -> Int { capacity * 4 / 3 * entry + capacity / 6 }
        return keys.capacity * MemoryLayout<Entry>.stride + windows.capacity * MemoryLayout<RateWindow>.stride
            + table(positions.capacity, MemoryLayout<KeyID>.stride + 4)
            + table(secrets.capacity, MemoryLayout<Digest>.stride + 4) + expiries.capacity * 16
    }
}

/// Values stored once, named by number.
struct Interner<Value: Hashable> {
    private var values: [Value] = []
    private var numbers: [Value: UInt32] = [:]

    mutating func intern(_ value: Value) -> UInt32 {
        if let number = numbers[value] { return number }
        let number = UInt32(values.count)
        values.append(value)
        numbers[value] = number
        return number
    }

    func value(_ number: UInt32) -> Value { values[Int(number)] }
}
