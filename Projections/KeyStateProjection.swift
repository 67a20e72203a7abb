public import Events
public import Store

/// The current state of every key, with the indexes verification and listing need:
/// secret digest -> key (current and in-grace previous secret), owner -> keys, and
/// expiry time -> key for the sweeper; plus snapshots of each key's state every
/// ``snapshotInterval`` events of its stream, so state-at folds at most that many.
public struct KeyStateProjection: Projection {
    public static let tableSpecs = [
        TableSpec("keys"), TableSpec("key_secrets"), TableSpec("key_owners"), TableSpec("key_expiries"),
        TableSpec("key_snapshots"),
    ]
    /// A key's state is kept as it was after every this many events of its stream.
    public static let snapshotInterval: UInt64 = 1024
    public let name = "keys"
    public let needsEventContext = false
    let keys: Table
    let secrets: Table
    let owners: Table
    let expiries: Table
    /// Key: id bytes, then the seq of the event after which the state was taken
    /// (big-endian); value: the encoded state.
    let snapshots: Table
    public var tables: [Table] { [keys, secrets, owners, expiries, snapshots] }

    public init(environment: Environment) {
        keys = environment.table("keys")
        secrets = environment.table("key_secrets")
        owners = environment.table("key_owners")
        expiries = environment.table("key_expiries")
        snapshots = environment.table("key_snapshots")
    }

    /// Keeps `state`, just folded from the event at `seq`, as a snapshot when its stream
    /// reached a multiple of ``snapshotInterval``.
    public func snapshotIfDue(_ state: KeyState, at seq: UInt64, in txn: borrowing Transaction) throws {
        guard state.events % Self.snapshotInterval == 0, state.events > 0 else { return }
        try txn.put(snapshots, Self.snapshotKey(state.id, seq), state.encoded())
    }

    /// The latest snapshot of `id` taken at or before `seq`: its seq and state.
    public func snapshot(of id: KeyID, atOrBefore seq: UInt64, in txn: borrowing Transaction) throws -> (
        seq: UInt64, state: KeyState
    )? {
        try txn.withCursor(snapshots) { cursor in
            guard let entry = try cursor.seek(atMost: Self.snapshotKey(id, seq)), entry.key.count == 24,
                KeyID(bytes: UnsafeRawBufferPointer(rebasing: entry.key[..<16])) == id
            else { return nil }
            let at = UInt64(bigEndian: entry.key.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
            return (at, try KeyState(decoding: entry.value))
        }
    }

    static func snapshotKey(_ id: KeyID, _ seq: UInt64) -> [UInt8] {
        id.bytes + withUnsafeBytes(of: seq.bigEndian) { Array($0) }
    }

    /// The state of `id`, or nil when no such key exists.
    public func state(of id: KeyID, in txn: borrowing Transaction) throws -> KeyState? {
        try id.bytes.withUnsafeBytes { key in
            guard let row = try txn.get(keys, key) else { return nil }
            return try KeyState(decoding: row)
        }
    }

    /// How many keys there are.
    public func count(in txn: borrowing Transaction) throws -> Int { try txn.count(keys) }

    /// Calls `body` with every key's state, in id order.
    public func forEachState(in txn: borrowing Transaction, _ body: (KeyState) throws -> Void) throws {
        try txn.withCursor(keys) { cursor in
            var entry = try cursor.first()
            while let e = entry {
                try body(try KeyState(decoding: e.value))
                entry = try cursor.next()
            }
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
        try store(new, replacing: old?.indexed, in: txn)
        try snapshotIfDue(new, at: event.seq, in: txn)
    }

    /// Writes `new` and moves its index entries from where the row it replaces (nil: none)
    /// had them.
    public func store(_ new: KeyState, replacing old: KeyState.Indexed?, in txn: borrowing Transaction) throws {
        var writer = BinaryWriter()
        try store(new, replacing: old, in: txn, using: &writer)
    }

    /// ``store(_:replacing:in:)``, encoding the row in `writer` (reused from row to row).
    public func store(
        _ new: KeyState, replacing old: KeyState.Indexed?, in txn: borrowing Transaction, using writer: inout BinaryWriter
    ) throws {
        var attributes: KeyState.EncodedAttributes?
        try store(new, replacing: old, in: txn, using: &writer, attributes: &attributes)
    }

    /// ``store(_:replacing:in:using:)``, the row's attributes encoded through
    /// `attributes` (``KeyState/encode(into:reusing:)``): for a writer that keeps them
    /// per key between writes of its row.
    public func store(
        _ new: KeyState, replacing old: KeyState.Indexed?, in txn: borrowing Transaction, using writer: inout BinaryWriter,
        attributes: inout KeyState.EncodedAttributes?
    ) throws {
        writer.reset()
        new.encode(into: &writer, reusing: &attributes)
        try withUnsafeBytes(of: (new.id.high.bigEndian, new.id.low.bigEndian)) { (key) throws in
            try writer.withUnsafeBytes { (value) throws in try txn.put(keys, key, value) }
        }
        // Secrets change only at creation and rotation; skip the set work otherwise.
        if old?.secretDigest != new.secretDigest || old?.previousSecretDigest != new.previousSecretDigest {
            let oldDigests = Set([old?.secretDigest, old?.previousSecretDigest].compactMap { $0 })
            let newDigests = Set([new.secretDigest, new.previousSecretDigest].compactMap { $0 })
            for gone in oldDigests.subtracting(newDigests) { try txn.delete(secrets, gone.bytes) }
            for added in newDigests.subtracting(oldDigests) { try txn.put(secrets, added.bytes, new.id.bytes) }
        }
        if old == nil { try txn.put(owners, Self.ownerKey(new.owner, new.id), []) }
        guard old?.expiresAt != new.expiresAt || old?.status != new.status else { return }
        let oldExpiry = old.flatMap { Self.expiryKey(new.id, $0) }
        let newExpiry = Self.expiryKey(new.id, new.indexed)
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
    static func expiryKey(_ id: KeyID, _ state: KeyState.Indexed) -> [UInt8]? {
        guard let at = state.expiresAt, !state.status.isFinal else { return nil }
        let sortable = UInt64(bitPattern: at) ^ (1 << 63)
        return withUnsafeBytes(of: sortable.bigEndian) { Array($0) } + id.bytes
    }

    public func makeRebuilder() -> any ProjectionRebuilder { Rebuilder(projection: self) }

    /// Keeps every key's state in memory (keys are few next to events) and writes the
    /// keys touched since the last commit before the next.
    struct Rebuilder: ProjectionRebuilder {
        let projection: KeyStateProjection
        /// Where each key's state sits in `states`, by key number (-1: none yet): the
        /// state is folded in place and marked dirty by position, without hashing.
        var positions: [Int] = []
        var states: [KeyState] = []
        /// What each key's index entries are made of, as the open transaction holds its
        /// row and as the last commit left it (the rebuild cleared the table), so a write
        /// moves index entries without reading and decoding the row back.
        var inTransaction: [KeyState.Indexed?] = []
        var inCommit: [KeyState.Indexed?] = []
        /// Positions changed since the last write, and since the last commit.
        var sinceWrite = DirtySet()
        var sinceCommit = DirtySet()
        /// Snapshots due since the last commit, with the seq each was taken at; the open
        /// transaction holds the first `snapshotsWritten`.
        var snapshots: [(seq: UInt64, state: KeyState)] = []
        var snapshotsWritten = 0

        mutating func fold(_ chunk: LogChunk) {
            positions.append(contentsOf: repeatElement(-1, count: chunk.newKeys.count))
            chunk.forEach { access in
                let position = positions[Int(access.key)]
                guard position >= 0 else { return }
                // In place: no copy of the state, so no copy of its arrays.
                states[position].recordAccess(access.code, cost: access.cost, at: access.time)
                folded(position, at: access.seq)
            } other: { event, key in
                fold(event, key: Int(key))
            }
        }

        mutating func fold(_ event: Event, key: Int) {
            let position: Int
            if case .created = event.payload {
                guard let new = KeyState.evolve(nil, event) else { return }
                if positions[key] >= 0 {
                    position = positions[key]
                    states[position] = new
                } else {
                    position = states.count
                    positions[key] = position
                    states.append(new)
                    inTransaction.append(nil)
                    inCommit.append(nil)
                    sinceWrite.grow()
                    sinceCommit.grow()
                }
            } else {
                position = positions[key]
                guard position >= 0 else { return }
                states[position].apply(event.payload, at: event.time)
            }
            folded(position, at: event.seq)
        }

        /// Marks the state at `position` changed and keeps a snapshot when one is due.
        private mutating func folded(_ position: Int, at seq: UInt64) {
            sinceWrite.insert(position)
            sinceCommit.insert(position)
            if states[position].events % KeyStateProjection.snapshotInterval == 0 {
                snapshots.append((seq, states[position]))
            }
        }

        /// Writes only when the transaction closes: every chunk rewrites most keys' rows.
        mutating func write(into txn: borrowing Transaction, _ occasion: WriteOccasion) throws {
            guard occasion == .closing else { return }
            for position in sinceWrite.positions.sorted(by: { states[$0].id < states[$1].id }) {
                try projection.store(states[position], replacing: inTransaction[position], in: txn)
                inTransaction[position] = states[position].indexed
            }
            sinceWrite.removeAll()
            for snapshot in snapshots[snapshotsWritten...].sorted(by: { ($0.state.id, $0.seq) < ($1.state.id, $1.seq) })
            {
                try projection.snapshotIfDue(snapshot.state, at: snapshot.seq, in: txn)
            }
            snapshotsWritten = snapshots.count
        }

        mutating func rewind() {
            for position in sinceCommit.positions {
                inTransaction[position] = inCommit[position]
                sinceWrite.insert(position)
            }
            snapshotsWritten = 0
        }

        mutating func committed() {
            for position in sinceCommit.positions { inCommit[position] = inTransaction[position] }
            sinceCommit.removeAll()
            snapshots.removeAll()
            snapshotsWritten = 0
        }
    }
}
