public import Events
public import Store

/// What an audit page asks for; nil and empty mean "any". Filters combine with AND,
/// the event types with OR.
public struct AuditFilter: Sendable, Equatable {
    public var keyID: KeyID?
    public var owner: String?
    public var types: [EventType] = []
    public var actor: Actor?
    public var ip: IPAddress?
    /// Route templates (`/v1/audit`), OR-ed: the management requests' records naming one.
    public var routes: [String] = []

    public init(
        keyID: KeyID? = nil, owner: String? = nil, types: [EventType] = [], actor: Actor? = nil, ip: IPAddress? = nil,
        routes: [String] = []
    ) {
        self.keyID = keyID
        self.owner = owner
        self.types = types
        self.actor = actor
        self.ip = ip
        self.routes = routes
    }
}

/// A set of sequences, walked downwards: each step finds the largest member at or below
/// a bound by seeking in posting lists, so a query touches only matching entries (and
/// leapfrogs over the gaps of an intersection).
indirect enum SeqSet {
    case list([UInt8])
    case union([SeqSet])
    case intersection([SeqSet])
    case all(head: UInt64)

    /// The largest member ≤ `bound`, or nil.
    func largest(atMost bound: UInt64, _ lists: inout PostingReader) throws -> UInt64? {
        guard bound > 0 else { return nil }
        switch self {
        case .list(let key):
            return try lists.largest(in: key, atMost: bound)
        case .all(let head):
            return min(bound, head) > 0 ? min(bound, head) : nil
        case .union(let parts):
            var best: UInt64?
            for part in parts {
                if let s = try part.largest(atMost: bound, &lists), s > (best ?? 0) { best = s }
            }
            return best
        case .intersection(let parts):
            var candidate = bound
            while true {
                var agreed = true
                for part in parts {
                    guard let s = try part.largest(atMost: candidate, &lists) else { return nil }
                    if s < candidate {
                        candidate = s
                        agreed = false
                    }
                }
                if agreed { return candidate }
            }
        }
    }
}

extension AuditIndexProjection {
    func seqSet(_ filter: AuditFilter, head: UInt64) -> SeqSet {
        var terms: [SeqSet] = []
        if let id = filter.keyID { terms.append(.list(Facet.key(id).indexKey)) }
        switch (filter.owner, filter.types.isEmpty) {
        case (let owner?, false): terms.append(.union(filter.types.map { .list(Facet.ownerType(owner, $0).indexKey) }))
        case (let owner?, true):
            terms.append(.union(EventType.allCases.map { .list(Facet.ownerType(owner, $0).indexKey) }))
        case (nil, false): terms.append(.union(filter.types.map { .list(Facet.type($0).indexKey) }))
        case (nil, true): break
        }
        if let actor = filter.actor {
            var actorSet: SeqSet = .list(Facet.actor(actor).indexKey)
            // A key's own accesses are filed under the key, not the actor (isSelfAccess).
            if actor.kind == .key, let id = KeyID(actor.id) {
                actorSet = .union([
                    actorSet, .intersection([.list(Facet.key(id).indexKey), .list(Facet.type(.accessed).indexKey)]),
                ])
            }
            terms.append(actorSet)
        }
        if let ip = filter.ip { terms.append(.list(Facet.ip(ip).indexKey)) }
        if !filter.routes.isEmpty { terms.append(.union(filter.routes.map { .list(Facet.route($0).indexKey) })) }
        if terms.isEmpty { return .all(head: head) }
        return terms.count == 1 ? terms[0] : .intersection(terms)
    }

    /// Matching sequences in `low...high`, newest first, at most `limit`.
    public func page(
        _ filter: AuditFilter, low: UInt64, high: UInt64, limit: Int, head: UInt64,
        in txn: borrowing Transaction
    ) throws -> [UInt64] {
        let set = seqSet(filter, head: head)
        return try txn.withCursor(index) { cursor in
            var lists = PostingReader(cursor)
            var found: [UInt64] = []
            var bound = high
            while found.count < limit, let s = try set.largest(atMost: bound, &lists), s >= max(low, 1) {
                found.append(s)
                bound = s - 1
            }
            return found
        }
    }

    /// The sequences of a key's stream in `after + 1 ... high`, oldest first.
    public func stream(of id: KeyID, after low: UInt64 = 0, upTo high: UInt64, in txn: borrowing Transaction) throws
        -> [UInt64]
    {
        let key = Facet.key(id).indexKey
        return try txn.withCursor(index) { cursor in
            var lists = PostingReader(cursor)
            var seqs: [UInt64] = []
            try lists.forEach(in: key, from: low + 1) { seq in
                guard seq <= high else { return false }
                seqs.append(seq)
                return true
            }
            return seqs
        }
    }
}
