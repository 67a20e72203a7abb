public import Events
public import Store

/// The current state of every key, with the indexes verification and listing need:
/// secret digest -> key (current and in-grace previous secret), owner -> keys, and
/// expiry time -> key for the sweeper.
public struct KeyStateProjection: Projection {
    public static let tableSpecs = [
        TableSpec("keys"), TableSpec("key_secrets"), TableSpec("key_owners"), TableSpec("key_expiries"),
    ]
    public let name = "keys"
    public let needsEventContext = false
    let keys: Table
    let secrets: Table
    let owners: Table
    let expiries: Table
    public var tables: [Table] { [keys, secrets, owners, expiries] }

    public init(environment: Environment) {
        keys = environment.table("keys")
        secrets = environment.table("key_secrets")
        owners = environment.table("key_owners")
        expiries = environment.table("key_expiries")
    }

    /// The state of `id`, or nil when no such key exists.
    public func state(of id: KeyID, in txn: borrowing Transaction) throws -> KeyState? {
        try id.bytes.withUnsafeBytes { key in
            guard let row = try txn.get(keys, key) else { return nil }
            return try KeyState(decoding: row)
        }
    }

    /// The key a secret digest belongs to (current or previous secret), if any.
    public func keyID(forSecret digest: Digest, in txn: borrowing Transaction) throws -> KeyID? {
        try digest.withUnsafeBytes { key in
            guard let row = try txn.get(secrets, key) else { return nil }
            return KeyID(bytes: row)
        }
    }

    public func apply(_ event: Event, in txn: borrowing Transaction) throws {
        let old = try state(of: event.keyID, in: txn)
        guard let new = KeyState.evolve(old, event) else { return }
        try store(new, replacing: old, in: txn)
    }

    /// Writes `new` and moves its index entries from where `old` had them.
    public func store(_ new: KeyState, replacing old: KeyState?, in txn: borrowing Transaction) throws {
        try txn.put(keys, new.id.bytes, new.encoded())
        // Secrets change only at creation and rotation; skip the set work otherwise.
        if old?.secretDigest != new.secretDigest || old?.previousSecretDigest != new.previousSecretDigest {
            let oldDigests = Set([old?.secretDigest, old?.previousSecretDigest].compactMap { $0 })
            let newDigests = Set([new.secretDigest, new.previousSecretDigest].compactMap { $0 })
            for gone in oldDigests.subtracting(newDigests) { try txn.delete(secrets, gone.bytes) }
            for added in newDigests.subtracting(oldDigests) { try txn.put(secrets, added.bytes, new.id.bytes) }
        }
        if old == nil { try txn.put(owners, Self.ownerKey(new.owner, new.id), []) }
        guard old?.expiresAt != new.expiresAt || old?.status != new.status else { return }
        let oldExpiry = old.flatMap(Self.expiryKey)
        let newExpiry = Self.expiryKey(new)
        if oldExpiry != newExpiry {
            if let oldExpiry { try txn.delete(expiries, oldExpiry) }
            if let newExpiry { try txn.put(expiries, newExpiry, []) }
        }
    }

    /// `owner` length, owner bytes, key id: keys of one owner sort together, by id.
    static func ownerKey(_ owner: String, _ id: KeyID) -> [UInt8] {
        [UInt8(owner.utf8.count)] + Array(owner.utf8) + id.bytes
    }

    /// Expiry in sortable form, then key id; nil for keys that cannot expire any more.
    static func expiryKey(_ state: KeyState) -> [UInt8]? {
        guard let at = state.expiresAt, !state.status.isFinal else { return nil }
        let sortable = UInt64(bitPattern: at) ^ (1 << 63)
        return withUnsafeBytes(of: sortable.bigEndian) { Array($0) } + state.id.bytes
    }

    public func makeRebuilder() -> any ProjectionRebuilder { Rebuilder(projection: self) }

    /// Keeps every key's state in memory (keys are few next to events) and writes the
    /// keys touched since the last flush.
    struct Rebuilder: ProjectionRebuilder {
        let projection: KeyStateProjection
        var states: [KeyID: KeyState] = [:]
        var dirty: Set<KeyID> = []

        mutating func fold(contentsOf events: [Event]) { for event in events { fold(event) } }

        mutating func fold(_ event: Event) {
            if case .created = event.payload {
                states[event.keyID] = KeyState.evolve(nil, event)
            } else {
                // `evolve` in place: no copy of the state, so no copy of its arrays.
                guard states[event.keyID]?.apply(event.payload, at: event.time) != nil else { return }
            }
            dirty.insert(event.keyID)
        }

        func flush(into txn: borrowing Transaction) throws {
            for id in dirty.sorted() {
                guard let state = states[id] else { continue }
                try projection.store(state, replacing: try projection.state(of: id, in: txn), in: txn)
            }
        }

        mutating func flushed() { dirty.removeAll(keepingCapacity: true) }
    }
}
