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
    struct Rebuilder: ProjectionRebuilder {
        let index: Table
        /// Keyed by facet, not by its table key: hashing the enum is cheaper than
        /// building and hashing a byte array per facet per event.
        var pending: [Facet: [UInt64]] = [:]

        mutating func fold(contentsOf events: [Event]) { for event in events { fold(event) } }

        mutating func fold(_ event: Event) {
            AuditIndexProjection.facets(of: event) { facet in pending[facet, default: []].append(event.seq) }
        }

        func flush(into txn: borrowing Transaction) throws {
            let lists = pending.map { (key: $0.key.indexKey, seqs: $0.value) }
            for list in lists.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                try txn.appendDuplicates(index, list.key, list.seqs)
            }
        }

        mutating func flushed() { pending.removeAll(keepingCapacity: true) }
    }
}
