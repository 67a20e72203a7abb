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
        /// The route template a management request's record names (``EventPayload/managementRoute``).
        case route(String)

        /// The list key of this facet. Keys are prefix-free, as posting lists need: a tag,
        /// then fixed-size fields, or text after its length (2 bytes, big-endian).
        public var indexKey: [UInt8] {
            var key: [UInt8] = []
            appendIndexKey(to: &key)
            return key
        }

        /// Appends ``indexKey``'s bytes to `key` (a fold writes a round's list keys into
        /// one buffer, with no arrays per key).
        func appendIndexKey(to key: inout [UInt8]) {
            switch self {
            case .key(let id):
                key.append(1)
                Self.append(id.high, id.low, to: &key)
            case .type(let type):
                key.append(3)
                key.append(type.rawValue)
            case .ownerType(let owner, let type):
                key.append(4)
                key.append(type.rawValue)
                Self.appendCounted(owner, to: &key)
            case .actor(let actor):
                key.append(5)
                key.append(actor.kind.rawValue)
                Self.appendCounted(actor.id, to: &key)
            case .ip(let ip):
                // As filed: an IPv4 address as its IPv4-mapped IPv6 address.
                key.append(6)
                Self.append(ip.high, ip.low, to: &key)
            case .route(let route):
                key.append(7)
                Self.appendCounted(route, to: &key)
            }
        }

        /// Two 64-bit halves, big-endian.
        private static func append(_ high: UInt64, _ low: UInt64, to key: inout [UInt8]) {
            withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { key.append(contentsOf: $0) }
        }

        /// `text`'s UTF-8 after its length (2 bytes, big-endian); text too long for a list
        /// key is cut (no list of it can exist: owners and actors are far shorter).
        private static func appendCounted(_ text: String, to key: inout [UInt8]) {
            let count = min(text.utf8.count, PostingBlock.maxListKey)
            key.append(UInt8(count >> 8))
            key.append(UInt8(count & 0xFF))
            key.append(contentsOf: text.utf8.prefix(count))
        }
    }

    /// True when the event is a key's own access: its actor is the key itself, which the
    /// key facet already files, so the actor facet is skipped (one posting list less to
    /// touch on the verification path). Actor queries add these from the key facet.
    public static func isSelfAccess(_ event: Event) -> Bool {
        isSelfAccess(type: event.type, actor: event.actor, keyID: event.keyID)
    }

    /// ``isSelfAccess(_:)`` from the fields it reads (a fold walking events in place
    /// passes them without copying the event).
    @inline(__always)
    static func isSelfAccess(type: EventType, actor: Actor, keyID: KeyID) -> Bool {
        // Parsing the 26-character id is cheaper than rendering the event's key id.
        type == .accessed && actor.kind == .key && actor.id.utf8.count == 26 && KeyID(actor.id) == keyID
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
        if let route = event.payload.managementRoute { try body(.route(route)) }
    }

    public func apply(_ event: Event, in txn: borrowing Transaction) throws {
        try Self.facets(of: event) { facet in try txn.appendPosting(index, facet.indexKey, event.seq) }
    }

    public func makeRebuilder() -> any ProjectionRebuilder { Rebuilder(index: index) }

    /// One block of a posting list, by list number: its first seq, and where its gaps
    /// lie in a buffer of blocks (a writer's open slots when `isOpen`).
    struct Block: Sendable {
        let list: Int
        let first: UInt64
        let start: Int
        let end: Int
        var isOpen = false
    }

    /// What a run of events did to the posting lists: every list's facet by list number
    /// (those met so far), the blocks the run closed (final), and the open block of each
    /// list the run touched, as the run left it; each kind's gaps one after another in
    /// one buffer (a buffer per block cost a malloc and a free per list and piece).
    struct Gathered: Sendable {
        let facets: [Facet]
        let closed: [Block]
        let closedGaps: [UInt8]
        let open: [Block]
        let openGaps: [UInt8]
    }

    /// Files events under their facets' lists, numbering the lists as they appear, and
    /// packs each list into blocks as ``Cursor/appendPostings(_:_:)`` would (a rebuild
    /// starts from empty lists), so the writing thread only puts rows.
    ///
    /// Lists are found without hashing strings: a key's own list and its owner are
    /// kept by key number, types index an array, actors and addresses hash their fixed
    /// parts. A key's own access, nearly every event, then costs one address lookup.
    struct Gatherer: Sendable {
        var facets: [Facet] = []
        /// Each list's blocks, the open one in memory.
        var lists = PostingListPacker()
        /// Blocks closed since the last ``take()``, and the lists touched since then.
        var closed: [Block] = []
        var closedGaps: [UInt8] = []
        var touched = DirtySet()
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
        var routeLists: [String: Int] = [:]

        mutating func fold(_ chunk: LogChunk) {
            keyIDs.append(contentsOf: chunk.newKeys)
            keyLists.append(contentsOf: repeatElement(-1, count: chunk.newKeys.count))
            for owner in chunk.newOwners { keyOwners.append(ownerNumber(owner)) }
            chunk.forEach { access in
                // The facets of ``facets(of:)`` for a key's own access: no actor facet.
                let key = Int(access.key)
                let seq = access.seq
                post(keyList(key), seq)
                post(typeList(.accessed), seq)
                post(ownerTypeList(keyOwners[key], .accessed), seq)
                if access.hasIP { post(ipList(IPAddress(high: access.ipHigh, low: access.ipLow, isV4: false)), seq) }
            } other: { event, key in
                fold(event, key: Int(key))
            }
        }

        mutating func fold(_ event: Event, key: Int) {
            let seq = event.seq
            post(keyList(key), seq)
            post(typeList(event.type), seq)
            let owner = ownerNames[keyOwners[key]] == event.owner ? keyOwners[key] : ownerNumber(event.owner)
            post(ownerTypeList(owner, event.type), seq)
            if !AuditIndexProjection.isSelfAccess(event) {
                let list = actorLists[event.actor] ?? newList(.actor(event.actor))
                actorLists[event.actor] = list
                post(list, seq)
            }
            if let ip = event.ip { post(ipList(IPAddress(high: ip.high, low: ip.low, isV4: false)), seq) }
            if let route = event.payload.managementRoute {
                let list = routeLists[route] ?? newList(.route(route))
                routeLists[route] = list
                post(list, seq)
            }
        }

        private mutating func post(_ list: Int, _ seq: UInt64) {
            if lists.add(seq, to: list) {
                let start = closedGaps.count
                closedGaps.append(contentsOf: lists.closedGaps)
                closed.append(Block(list: list, first: lists.closedFirst, start: start, end: closedGaps.count))
            }
            touched.insert(list)
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

        /// What the events since the last take did to the lists.
        mutating func take() -> Gathered {
            var openGaps: [UInt8] = []
            let open = touched.positions.compactMap { list in
                lists.withOpenBlock(list) { first, gaps in
                    let start = openGaps.count
                    openGaps.append(contentsOf: gaps)
                    return Block(list: list, first: first, start: start, end: openGaps.count)
                }
            }
            touched.removeAll()
            defer {
                closed.removeAll()
                closedGaps.removeAll()
            }
            return Gathered(facets: facets, closed: closed, closedGaps: closedGaps, open: open, openGaps: openGaps)
        }

        private mutating func newList(_ facet: Facet) -> Int {
            facets.append(facet)
            touched.grow()
            return lists.addList()
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

    /// Puts the blocks its ``Preparer`` packed (on another thread, or here): each closed
    /// block once, when it closes; each list's open block only when the writer waits or
    /// the transaction closes, since the next pieces will mostly grow it again.
    struct Rebuilder: ProjectionRebuilder {
        let index: Table
        let gathering = Preparer()
        var preparer: (any ChunkPreparer)? { gathering }
        /// By list number: the table key of its facet, and its open block as last
        /// gathered (its first seq, and its gaps in a slot of ``PostingBlock/capacity``
        /// bytes; length -1 before any).
        var keys: [[UInt8]] = []
        var openFirst: [UInt64] = []
        var openLength: [Int] = []
        var openGaps: [UInt8] = []
        /// Each list's place in key order (recomputed when lists are added).
        var rank: [Int] = []
        /// Blocks closed since the last commit, and how many the open transaction holds.
        var closed: [Block] = []
        var closedGaps: [UInt8] = []
        var closedWritten = 0
        /// Lists whose open block changed since the last write, and since the last commit.
        var openSinceWrite = DirtySet()
        var openSinceCommit = DirtySet()

        init(index: Table) { self.index = index }

        mutating func fold(_ chunk: LogChunk) { absorb(gathering.gather(chunk)) }

        mutating func fold(prepared: any Sendable) {
            guard let gathered = prepared as? Gathered else {
                preconditionFailure("the audit rebuilder was handed another projection's preparation")
            }
            absorb(gathered)
        }

        private mutating func absorb(_ gathered: Gathered) {
            let slot = PostingBlock.capacity
            for facet in gathered.facets[keys.count...] {
                keys.append(facet.indexKey)
                openFirst.append(0)
                openLength.append(-1)
                openGaps.append(contentsOf: repeatElement(0, count: slot))
                openSinceWrite.grow()
                openSinceCommit.grow()
            }
            let base = closedGaps.count
            closedGaps.append(contentsOf: gathered.closedGaps)
            for block in gathered.closed {
                closed.append(
                    Block(list: block.list, first: block.first, start: base + block.start, end: base + block.end))
            }
            openGaps.withUnsafeMutableBytes { slots in
                gathered.openGaps.withUnsafeBytes { gaps in
                    for block in gathered.open {
                        let length = block.end - block.start
                        slots.baseAddress!.advanced(by: block.list * slot).copyMemory(
                            from: gaps.baseAddress!.advanced(by: block.start), byteCount: length)
                        openFirst[block.list] = block.first
                        openLength[block.list] = length
                        openSinceWrite.insert(block.list)
                        openSinceCommit.insert(block.list)
                    }
                }
            }
        }

        func checkpoint(after last: UInt64) -> UInt64 { last }

        mutating func write(into txn: borrowing Transaction, _ occasion: WriteOccasion) throws {
            // Closed blocks as they are; open ones with their slot as the range.
            var due = closed[closedWritten...].map { $0 }
            if occasion != .folded {
                for list in openSinceWrite.positions where openLength[list] >= 0 {
                    let start = list * PostingBlock.capacity
                    due.append(
                        Block(
                            list: list, first: openFirst[list], start: start, end: start + openLength[list], isOpen: true
                        ))
                }
                openSinceWrite.removeAll()
            }
            closedWritten = closed.count
            guard !due.isEmpty else { return }
            if rank.count != keys.count {
                rank = [Int](repeating: 0, count: keys.count)
                let order = keys.indices.sorted { keys[$0].lexicographicallyPrecedes(keys[$1]) }
                for (place, list) in order.enumerated() { rank[list] = place }
            }
            // In key order, so the puts walk the table forwards. A list's open block
            // starts after its closed ones, so a block that closed after being put open is
            // put closed.
            due.sort { a, b in rank[a.list] != rank[b.list] ? rank[a.list] < rank[b.list] : a.first < b.first }
            var key: [UInt8] = []
            try txn.withCursor(index) { (cursor) throws in
                for block in due {
                    key.removeAll(keepingCapacity: true)
                    key.append(contentsOf: keys[block.list])
                    withUnsafeBytes(of: block.first.bigEndian) { key.append(contentsOf: $0) }
                    let gaps = block.isOpen ? openGaps : closedGaps
                    try key.withUnsafeBytes { (k) throws in
                        try gaps.withUnsafeBytes { (v) throws in
                            try cursor.put(k, UnsafeRawBufferPointer(rebasing: v[block.start..<block.end]))
                        }
                    }
                }
            }
        }

        mutating func rewind() {
            closedWritten = 0
            for list in openSinceCommit.positions { openSinceWrite.insert(list) }
        }

        mutating func committed() {
            closed.removeAll()
            closedGaps.removeAll(keepingCapacity: true)
            closedWritten = 0
            openSinceCommit.removeAll()
        }
    }
}
