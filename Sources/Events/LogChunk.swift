/// A `key.accessed` that the key made itself (what verification appends: nearly every
/// event of a log), reduced to the fields a fold reads, its key named by number.
///
/// Rebuilds fold these instead of ``Event`` values: nothing in it is allocated,
/// reference counted or hashed, so a log of accesses folds at the cost of its bytes.
public struct AccessRecord: Sendable {
    public var seq: UInt64
    /// µs since the epoch.
    public var time: Int64
    /// The client address as the audit index files it (IPv4 as its IPv4-mapped IPv6
    /// address); meaningful when ``hasIP``.
    public var ipHigh: UInt64
    public var ipLow: UInt64
    /// The key's number in its ``ChunkDecoder``.
    public var key: UInt32
    public var latencyMicros: UInt32
    public var cost: UInt32
    public var code: VerifyCode
    public var hasIP: Bool
}

/// A run of the log as a rebuild folds it: the key's own accesses as ``AccessRecord``s,
/// every other event decoded whole, and each event's key by number.
///
/// Key numbers run from 0 in the order a ``ChunkDecoder`` first met the keys, across
/// every chunk it made; each chunk names the keys it numbered first, so a fold keeps
/// its per-key state in arrays indexed by number instead of hashing ids per event.
public struct LogChunk: Sendable {
    /// The key's own accesses, in seq order.
    public internal(set) var accesses: [AccessRecord] = []
    /// Every other event, in seq order, with its key's number.
    public internal(set) var others: [(event: Event, key: UInt32)] = []
    /// The number of the first key this chunk numbered.
    public let firstNewKey: Int
    /// The keys this chunk numbered first: key `firstNewKey + i` is `newKeys[i]`.
    public internal(set) var newKeys: [KeyID] = []
    /// Their owners, as the first event of each key names it. A key's accesses in
    /// ``accesses`` all name this owner (others are in ``others``).
    public internal(set) var newOwners: [String] = []
    /// Every event of the chunk decoded whole, in seq order, when its decoder keeps them
    /// (a rebuild with a ``FoldingRebuilder``); empty otherwise.
    public internal(set) var events: [Event] = []
    /// The Merkle leaf hash of every record of the chunk, in seq order, when its decoder
    /// hashes them (a rebuild of the tree: the records are hashed as they are read, not
    /// read again); empty otherwise.
    public internal(set) var leaves: [Digest] = []
    /// The seq of the chunk's last event; nil when the chunk is empty.
    public internal(set) var lastSeq: UInt64?
    /// True for the last chunk of a rebuild: a fold holds nothing back after it.
    public var endsLog = false

    public init(firstNewKey: Int) { self.firstNewKey = firstNewKey }

    /// Events in the chunk.
    public var count: Int { accesses.count + others.count }

    /// Walks the chunk in seq order: each access to `access`, each other event (with its
    /// key's number) to `other`.
    @inlinable
    public func forEach(access: (AccessRecord) -> Void, other: (Event, UInt32) -> Void) {
        accesses.withUnsafeBufferPointer { accesses in
            others.withUnsafeBufferPointer { others in
                var o = 0
                for a in accesses.indices {
                    let seq = accesses[a].seq
                    while o < others.count, others[o].event.seq < seq {
                        other(others[o].event, others[o].key)
                        o += 1
                    }
                    access(accesses[a])
                }
                while o < others.count {
                    other(others[o].event, others[o].key)
                    o += 1
                }
            }
        }
    }
}
