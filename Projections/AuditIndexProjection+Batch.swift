public import Events
public import Store
import Glibc

/// The live fold of a run of events: every posting list the run touches is appended to
/// once, with all of its new seqs, in key order through one cursor (a verification's
/// type, owner and address lists are shared by most events of a round).
extension AuditIndexProjection {
    public func apply(contentsOf events: ArraySlice<Event>, in txn: borrowing Transaction) throws {
        // Lists: about one per key in the run, and a few shared ones, found without
        // SipHash: keys and addresses (by their 128 bits, as filed) through tables of
        // their own, types by their code. A key's own list remembers the owner-and-type
        // list of its accesses, which most of its events then post to without a lookup.
        var keyLists = KeyIndexTable(minimumCapacity: min(events.count, 4_096))
        var ipLists = KeyIndexTable()
        var typeLists = [Int32](repeating: -1, count: 256)
        // Sized for a round of accesses by as many keys and owners: no regrowth.
        let expected = min(events.count, 4_096)
        var lists = [Facet: Int32](minimumCapacity: expected + 8)
        var facets: [Facet] = []
        facets.reserveCapacity(2 * expected + 8)
        /// By list number, for a key's own list: its accesses' owner-and-type list (-1:
        /// none yet) and that list's owner.
        var accessLists: [Int32] = []
        accessLists.reserveCapacity(2 * expected + 8)
        var accessOwners: [String] = []
        accessOwners.reserveCapacity(2 * expected + 8)
        /// By list number, for a key's own list: the actor id its accesses were found to
        /// be made with by the key itself ("" until one is): an equal id is one without
        /// parsing it again.
        var selfActors: [String] = []
        selfActors.reserveCapacity(2 * expected + 8)
        var postings: [(list: Int32, seq: UInt64)] = []
        postings.reserveCapacity(events.count * 4)
        func newList(_ facet: Facet) -> Int32 {
            facets.append(facet)
            accessLists.append(-1)
            accessOwners.append("")
            selfActors.append("")
            return Int32(facets.count - 1)
        }
        func shared(_ facet: Facet) -> Int32 {
            if let known = lists[facet] { return known }
            let list = newList(facet)
            lists[facet] = list
            return list
        }
        // The facets of ``facets(of:)``, each event's in that order.
        events.withUnsafeBufferPointer { events in
            for i in events.indices {
                let seq = events[i].seq
                let id = events[i].keyID
                let keyList: Int32
                if let known = keyLists[id] {
                    keyList = Int32(known)
                } else {
                    keyList = newList(.key(id))
                    keyLists.insert(id, Int(keyList))
                }
                postings.append((keyList, seq))
                let type = events[i].type
                let t = Int(type.rawValue)
                if typeLists[t] < 0 { typeLists[t] = newList(.type(type)) }
                postings.append((typeLists[t], seq))
                let k = Int(keyList)
                if type == .accessed, accessLists[k] >= 0, accessOwners[k] == events[i].owner {
                    postings.append((accessLists[k], seq))
                } else {
                    let list = shared(.ownerType(events[i].owner, type))
                    if type == .accessed {
                        accessLists[k] = list
                        accessOwners[k] = events[i].owner
                    }
                    postings.append((list, seq))
                }
                let isSelfAccess: Bool
                if type == .accessed, events[i].actor.kind == .key, !selfActors[k].isEmpty,
                    events[i].actor.id == selfActors[k]
                {
                    isSelfAccess = true
                } else {
                    isSelfAccess = Self.isSelfAccess(type: type, actor: events[i].actor, keyID: id)
                    if isSelfAccess { selfActors[k] = events[i].actor.id }
                }
                if !isSelfAccess { postings.append((shared(.actor(events[i].actor)), seq)) }
                if let ip = events[i].ip {
                    // Keyed as filed: an IPv4 address as its IPv4-mapped IPv6 address.
                    let bits = KeyID(high: ip.high, low: ip.low)
                    let list: Int32
                    if let known = ipLists[bits] {
                        list = Int32(known)
                    } else {
                        list = newList(.ip(IPAddress(high: ip.high, low: ip.low, isV4: false)))
                        ipLists.insert(bits, Int(list))
                    }
                    postings.append((list, seq))
                }
                if let route = events[i].payload.managementRoute { postings.append((shared(.route(route)), seq)) }
            }
        }
        guard !postings.isEmpty else { return }
        // Every list's key in one buffer (a key's own list written in place: no arrays
        // per list), then the lists ranked in key order, so the appends walk the table
        // forwards. Facets filed under one key (an IPv4 address and its IPv4-mapped form)
        // share a rank: one list, whose seqs are appended together, in order.
        var keyBytes: [UInt8] = []
        keyBytes.reserveCapacity(facets.count * 17 + 64)
        var keyEnds: [Int] = []
        keyEnds.reserveCapacity(facets.count)
        for facet in facets {
            facet.appendIndexKey(to: &keyBytes)
            keyEnds.append(keyBytes.count)
        }
        var rank = [Int](repeating: 0, count: facets.count)
        var rankKey: [Int] = []
        keyBytes.withUnsafeBytes { bytes in
            func key(_ list: Int) -> UnsafeRawBufferPointer {
                UnsafeRawBufferPointer(rebasing: bytes[(list == 0 ? 0 : keyEnds[list - 1])..<keyEnds[list]])
            }
            func compare(_ a: Int, _ b: Int) -> Int32 {
                let (x, y) = (key(a), key(b))
                let c = memcmp(x.baseAddress!, y.baseAddress!, min(x.count, y.count))
                return c != 0 ? c : Int32(x.count) - Int32(y.count)
            }
            let order = facets.indices.sorted { compare($0, $1) < 0 }
            for (i, list) in order.enumerated() {
                if i == 0 || compare(list, order[i - 1]) != 0 { rankKey.append(list) }
                rank[list] = rankKey.count - 1
            }
        }
        // The seqs by rank (a counting sort: each list's seqs stay in log order).
        var starts = [Int](repeating: 0, count: rankKey.count + 1)
        for posting in postings { starts[rank[Int(posting.list)] + 1] += 1 }
        for r in 0..<rankKey.count { starts[r + 1] += starts[r] }
        var seqs = [UInt64](repeating: 0, count: postings.count)
        var next = starts
        for posting in postings {
            let r = rank[Int(posting.list)]
            seqs[next[r]] = posting.seq
            next[r] += 1
        }
        var scratch = PostingScratch()
        try txn.withCursor(index) { (cursor) throws in
            try keyBytes.withUnsafeBytes { (bytes) throws in
                try seqs.withUnsafeBufferPointer { (seqs) throws in
                    for (r, list) in rankKey.enumerated() {
                        let key = UnsafeRawBufferPointer(
                            rebasing: bytes[(list == 0 ? 0 : keyEnds[list - 1])..<keyEnds[list]])
                        let values = UnsafeBufferPointer(rebasing: seqs[starts[r]..<starts[r + 1]])
                        try cursor.appendPostings(key, values, using: &scratch)
                    }
                }
            }
        }
    }
}
