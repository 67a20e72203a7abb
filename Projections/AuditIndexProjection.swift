public import Events
public import Store
import Synchronization

/// Posting lists of event sequences by key, type, owner and type, actor and client IP,
/// so audit queries walk only the events that match.
///
/// One table of posting lists in blocks (``PostingBlock``): each facet's key, then a
/// block's first seq.
public struct AuditIndexProjection: Projection {
    public static let tableSpecs = [TableSpec("audit_postings")]
    /// The table of ledgers written before, one LMDB sub-database per list (two pages
    /// dirtied per append, eight bytes per seq); a writable open drops it and rebuilds
    /// this projection.
    public static let retiredTableNames = ["audit_index"]
    public let name = "audit"
    public let needsEventContext = true
    let index: Table
    public var tables: [Table] { [index] }

    public init(environment: Environment) { index = environment.table("audit_postings") }

    /// The index values an event is filed under.
    public enum Facet: Hashable, Sendable {
        case key(KeyID)
        case type(EventType)
        case ownerType(String, EventType)
        case actor(Actor)
        case ip(IPAddress)

        /// The list key of this facet. Keys are prefix-free, as posting lists need: a tag,
        /// then fixed-size fields, or text after its length (2 bytes, big-endian).
        public var indexKey: [UInt8] {
            switch self {
            case .key(let id): [1] + id.bytes
            case .type(let type): [3, type.rawValue]
            case .ownerType(let owner, let type): [4, type.rawValue] + Self.counted(owner)
            case .actor(let actor): [5, actor.kind.rawValue] + Self.counted(actor.id)
            case .ip(let ip): [6] + IPAddress(high: ip.high, low: ip.low, isV4: false).bytes
            }
        }

        /// `text`'s UTF-8 after its length; text too long for a list key is cut (no list
        /// of it can exist: owners and actors are far shorter).
        static func counted(_ text: String) -> [UInt8] {
            let bytes = Array(text.utf8.prefix(PostingBlock.maxListKey))
            return [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes
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
    /// per event on the verification path. A rebuild's ``Gatherer`` files the same facets
    /// through cheaper lookups; the replay tests hold both to the same rows.
    static func facets(of event: Event, _ body: (Facet) throws -> Void) rethrows {
        try body(.key(event.keyID))
        try body(.type(event.type))
        try body(.ownerType(event.owner, event.type))
        if !isSelfAccess(event) { try body(.actor(event.actor)) }
        if let ip = event.ip { try body(.ip(ip)) }
    }

    public func apply(_ event: Event, in txn: borrowing Transaction) throws {
        try Self.facets(of: event) { facet in try txn.appendPosting(index, facet.indexKey, event.seq) }
    }

    public func makeRebuilder() -> any ProjectionRebuilder { Rebuilder(index: index) }

    /// Posting lists gathered from a run of events: each list's facet and its new seqs,
    /// by list number.
    struct Gathered: Sendable {
        let facets: [Facet]
        let lists: [[UInt64]]
    }

    /// Files events under their facets' lists, numbering the lists as they appear.
    ///
    /// Lists are found without hashing strings: a key's own list and its owner are
    /// kept by key number, types index an array, actors and addresses hash their fixed
    /// parts. A key's own access, nearly every event, then costs one address lookup.
    struct Gatherer: Sendable {
        var facets: [Facet] = []
        /// The seqs gathered for each list since the last ``take()``.
        var lists: [[UInt64]] = []
        /// By key number: its id, its own list (-1: none yet) and its owner's number.
        var keyIDs: [KeyID] = []
        var keyLists: [Int] = []
        var keyOwners: [Int] = []
        var ownerNumbers: [String: Int] = [:]
        var ownerNames: [String] = []
        /// Per owner, per event type: its list, or -1.
        var ownerTypeLists: [[Int]] = []
        var typeLists = [Int](repeating: -1, count: 256)
        var actorLists: [Actor: Int] = [:]
        /// Keyed as filed: IPv4 as its IPv4-mapped IPv6 address.
        var ipLists: [IPAddress: Int] = [:]

        mutating func fold(_ chunk: LogChunk) {
            keyIDs.append(contentsOf: chunk.newKeys)
            keyLists.append(contentsOf: repeatElement(-1, count: chunk.newKeys.count))
            for owner in chunk.newOwners { keyOwners.append(ownerNumber(owner)) }
            chunk.forEach { access in
                // The facets of ``facets(of:)`` for a key's own access: no actor facet.
                let key = Int(access.key)
                let seq = access.seq
                lists[keyList(key)].append(seq)
                lists[typeList(.accessed)].append(seq)
                lists[ownerTypeList(keyOwners[key], .accessed)].append(seq)
                if access.hasIP { lists[ipList(IPAddress(high: access.ipHigh, low: access.ipLow, isV4: false))].append(seq) }
            } other: { event, key in
                fold(event, key: Int(key))
            }
        }

        mutating func fold(_ event: Event, key: Int) {
            let seq = event.seq
            lists[keyList(key)].append(seq)
            lists[typeList(event.type)].append(seq)
            let owner = ownerNames[keyOwners[key]] == event.owner ? keyOwners[key] : ownerNumber(event.owner)
            lists[ownerTypeList(owner, event.type)].append(seq)
            if !AuditIndexProjection.isSelfAccess(event) {
                let list = actorLists[event.actor] ?? newList(.actor(event.actor))
                actorLists[event.actor] = list
                lists[list].append(seq)
            }
            if let ip = event.ip { lists[ipList(IPAddress(high: ip.high, low: ip.low, isV4: false))].append(seq) }
        }

        private mutating func keyList(_ key: Int) -> Int {
            if keyLists[key] < 0 { keyLists[key] = newList(.key(keyIDs[key])) }
            return keyLists[key]
        }

        private mutating func typeList(_ type: EventType) -> Int {
            let t = Int(type.rawValue)
            if typeLists[t] < 0 { typeLists[t] = newList(.type(type)) }
            return typeLists[t]
        }

        private mutating func ownerTypeList(_ owner: Int, _ type: EventType) -> Int {
            let t = Int(type.rawValue)
            if ownerTypeLists[owner][t] < 0 { ownerTypeLists[owner][t] = newList(.ownerType(ownerNames[owner], type)) }
            return ownerTypeLists[owner][t]
        }

        /// `filed`: the address as filed (IPv4 mapped).
        private mutating func ipList(_ filed: IPAddress) -> Int {
            if let known = ipLists[filed] { return known }
            let list = newList(.ip(filed))
            ipLists[filed] = list
            return list
        }

        /// The lists gathered since the last take; leaves them empty, keeping the numbering.
        mutating func take() -> Gathered {
            defer { lists = [[UInt64]](repeating: [], count: lists.count) }
            return Gathered(facets: facets, lists: lists)
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
    }

    /// Gathers postings on the rebuild's reading thread, one chunk ahead of the writes.
    final class Preparer: ChunkPreparer {
        private let gatherer = Mutex(Gatherer())

        func prepare(_ chunk: LogChunk) -> any Sendable { gather(chunk) }

        func gather(_ chunk: LogChunk) -> Gathered {
            gatherer.withLock { gatherer in
                gatherer.fold(chunk)
                return gatherer.take()
            }
        }
    }

    /// Appends each posting list's seqs, as its ``Preparer`` gathered them (on another
    /// thread, or here), in calls of at least ``batch`` seqs: a list is written once that
    /// many are waiting, and every list when the transaction closes. A chunk of the log
    /// touches most lists with a few seqs each, so writing every list per chunk would
    /// cost a B-tree search per list per chunk.
    struct Rebuilder: ProjectionRebuilder {
        static let batch = 256
        let index: Table
        let gathering = Preparer()
        var preparer: (any ChunkPreparer)? { gathering }
        /// By list number: the table key of its facet, the seqs gathered since the last
        /// commit, and how many of them the open transaction holds.
        var keys: [[UInt8]] = []
        var seqs: [[UInt64]] = []
        var written: [Int] = []
        /// Lists holding seqs the open transaction does not.
        var waiting: [Int] = []
        var isWaiting: [Bool] = []

        init(index: Table) { self.index = index }

        mutating func fold(_ chunk: LogChunk) { absorb(gathering.gather(chunk)) }

        mutating func fold(prepared: any Sendable) {
            guard let gathered = prepared as? Gathered else {
                preconditionFailure("the audit rebuilder was handed another projection's preparation")
            }
            absorb(gathered)
        }

        private mutating func absorb(_ gathered: Gathered) {
            for facet in gathered.facets[keys.count...] { keys.append(facet.indexKey) }
            let added = keys.count - seqs.count
            seqs.append(contentsOf: repeatElement([], count: added))
            written.append(contentsOf: repeatElement(0, count: added))
            isWaiting.append(contentsOf: repeatElement(false, count: added))
            for list in gathered.lists.indices where !gathered.lists[list].isEmpty {
                seqs[list].append(contentsOf: gathered.lists[list])
                wait(list)
            }
        }

        private mutating func wait(_ list: Int) {
            guard !isWaiting[list] else { return }
            isWaiting[list] = true
            waiting.append(list)
        }

        mutating func write(into txn: borrowing Transaction, _ occasion: WriteOccasion) throws {
            var due: [Int] = []
            var still: [Int] = []
            for list in waiting {
                if occasion != .folded || seqs[list].count - written[list] >= Self.batch {
                    due.append(list)
                } else {
                    still.append(list)
                }
            }
            guard !due.isEmpty else { return }
            // In key order, so the appends walk the table forwards.
            due.sort { keys[$0].lexicographicallyPrecedes(keys[$1]) }
            try txn.withCursor(index) { (cursor) throws in
                for list in due {
                    try keys[list].withUnsafeBytes { (key) throws in
                        try seqs[list][written[list]...].withUnsafeBufferPointer { try cursor.appendPostings(key, $0) }
                    }
                    written[list] = seqs[list].count
                    isWaiting[list] = false
                }
            }
            waiting = still
        }

        mutating func rewind() {
            for list in seqs.indices where !seqs[list].isEmpty {
                written[list] = 0
                wait(list)
            }
        }

        mutating func committed() {
            for list in seqs.indices where !seqs[list].isEmpty {
                seqs[list].removeAll(keepingCapacity: true)
                written[list] = 0
            }
        }
    }
}
