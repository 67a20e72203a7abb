public import Events
public import Store

/// Posting lists of event sequences by key, type, owner and type, actor and client IP,
/// so audit queries walk only the events that match.
///
/// One DUPFIXED table: each index value (a tagged key) holds its ascending seqs.
public struct AuditIndexProjection: Projection {
    public static let tableSpecs = [TableSpec("audit_index", duplicates: true)]
    public let name = "audit"
    public let needsEventContext = true
    let index: Table
    public var tables: [Table] { [index] }

    public init(environment: Environment) { index = environment.table("audit_index") }

    /// The index values an event is filed under.
    public enum Facet: Hashable, Sendable {
        case key(KeyID)
        case type(EventType)
        case ownerType(String, EventType)
        case actor(Actor)
        case ip(IPAddress)

        /// The table key of this facet.
        public var indexKey: [UInt8] {
            switch self {
            case .key(let id): [1] + id.bytes
            case .type(let type): [3, type.rawValue]
            case .ownerType(let owner, let type): [4, type.rawValue] + Array(owner.utf8)
            case .actor(let actor): [5, actor.kind.rawValue] + Array(actor.id.utf8)
            case .ip(let ip): [6] + IPAddress(high: ip.high, low: ip.low, isV4: false).bytes
            }
        }
    }

    /// True when the event is a key's own access: its actor is the key itself, which the
    /// key facet already files, so the actor facet is skipped (one posting list less to
    /// touch on the verification path). Actor queries add these from the key facet.
    public static func isSelfAccess(_ event: Event) -> Bool {
        // Parsing the 26-character id is cheaper than rendering the event's key id.
        event.type == .accessed && event.actor.kind == .key && event.actor.id.utf8.count == 26
            && KeyID(event.actor.id) == event.keyID
    }

    /// The facets an event is filed under. There is no owner-only list: an owner's
    /// events are the union of its owner-and-type lists, which saves one posting list
    /// per event on the verification path.
    static func facets(of event: Event, _ body: (Facet) throws -> Void) rethrows {
        try body(.key(event.keyID))
        try body(.type(event.type))
        try body(.ownerType(event.owner, event.type))
        if !isSelfAccess(event) { try body(.actor(event.actor)) }
        if let ip = event.ip { try body(.ip(ip)) }
    }

    public func apply(_ event: Event, in txn: borrowing Transaction) throws {
        try Self.facets(of: event) { facet in try txn.addDuplicate(index, facet.indexKey, event.seq) }
    }

    public func makeRebuilder() -> any ProjectionRebuilder { Rebuilder(index: index) }

    /// Gathers each posting list's new seqs and appends them in one call per list.
    ///
    /// Lists are found without hashing strings: a key's own list and its owner are
    /// remembered by key id (a key's owner never changes, and is checked anyway), types
    /// index an array, actors and addresses hash their fixed parts. A key's own accesses,
    /// nearly every event, then cost one id lookup and one address lookup.
    struct Rebuilder: ProjectionRebuilder {
        let index: Table
        /// Each list's facet, and the seqs gathered for it since the last flush.
        var facets: [Facet] = []
        var lists: [[UInt64]] = []
        /// Per key: its own list and its owner's number.
        var keys: [KeyID: (list: Int, owner: Int)] = [:]
        var ownerNumbers: [String: Int] = [:]
        var ownerNames: [String] = []
        /// Per owner, per event type: its list, or -1.
        var ownerTypeLists: [[Int]] = []
        var typeLists = [Int](repeating: -1, count: 256)
        var actorLists: [Actor: Int] = [:]
        /// Keyed as filed: IPv4 as its IPv4-mapped IPv6 address.
        var ipLists: [IPAddress: Int] = [:]

        init(index: Table) { self.index = index }

        mutating func fold(contentsOf events: [Event]) {
            // Through the buffer, each event is lent to `fold`, not copied out.
            events.withUnsafeBufferPointer { events in for i in events.indices { fold(events[i]) } }
        }

        mutating func fold(_ event: Event) {
            let seq = event.seq
            let type = event.type
            var slot = keys[event.keyID] ?? (list: -1, owner: -1)
            if slot.list < 0 || ownerNames[slot.owner] != event.owner {
                if slot.list < 0 { slot.list = newList(.key(event.keyID)) }
                slot.owner = ownerNumber(event.owner)
                keys[event.keyID] = slot
            }
            lists[slot.list].append(seq)
            if typeLists[Int(type.rawValue)] < 0 { typeLists[Int(type.rawValue)] = newList(.type(type)) }
            lists[typeLists[Int(type.rawValue)]].append(seq)
            if ownerTypeLists[slot.owner][Int(type.rawValue)] < 0 {
                ownerTypeLists[slot.owner][Int(type.rawValue)] = newList(.ownerType(event.owner, type))
            }
            lists[ownerTypeLists[slot.owner][Int(type.rawValue)]].append(seq)
            if !AuditIndexProjection.isSelfAccess(event) {
                let list = actorLists[event.actor] ?? newList(.actor(event.actor))
                actorLists[event.actor] = list
                lists[list].append(seq)
            }
            if let ip = event.ip {
                let filed = IPAddress(high: ip.high, low: ip.low, isV4: false)
                let list = ipLists[filed] ?? newList(.ip(filed))
                ipLists[filed] = list
                lists[list].append(seq)
            }
        }

        private mutating func newList(_ facet: Facet) -> Int {
            facets.append(facet)
            lists.append([])
            return lists.count - 1
        }

        private mutating func ownerNumber(_ owner: String) -> Int {
            if let known = ownerNumbers[owner] { return known }
            ownerNumbers[owner] = ownerNames.count
            ownerNames.append(owner)
            ownerTypeLists.append([Int](repeating: -1, count: 256))
            return ownerNames.count - 1
        }

        func flush(into txn: borrowing Transaction) throws {
            let pending = lists.indices.filter { !lists[$0].isEmpty }.map { (key: facets[$0].indexKey, list: $0) }
            for entry in pending.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                try txn.appendDuplicates(index, entry.key, lists[entry.list])
            }
        }

        mutating func flushed() {
            for i in lists.indices { lists[i].removeAll(keepingCapacity: true) }
        }
    }
}
