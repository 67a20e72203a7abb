public import Events
public import Store

/// The live fold of a run of events: every posting list the run touches is appended to
/// once, with all of its new seqs, in key order through one cursor (a verification's
/// type, owner and address lists are shared by most events of a round).
extension AuditIndexProjection {
    public func apply(contentsOf events: ArraySlice<Event>, in txn: borrowing Transaction) throws {
        // Lists: about one per key in the run (found without hashing the id through
        // SipHash), and a few shared ones.
        var keyLists = KeyIndexTable()
        var lists: [Facet: Int32] = [:]
        var facets: [Facet] = []
        var postings: [(list: Int32, seq: UInt64)] = []
        postings.reserveCapacity(events.count * 4)
        for event in events {
            Self.facets(of: event) { facet in
                let list: Int32
                if case .key(let id) = facet {
                    if let known = keyLists[id] {
                        list = Int32(known)
                    } else {
                        list = Int32(facets.count)
                        keyLists.insert(id, facets.count)
                        facets.append(facet)
                    }
                } else if let known = lists[facet] {
                    list = known
                } else {
                    list = Int32(facets.count)
                    lists[facet] = list
                    facets.append(facet)
                }
                postings.append((list, event.seq))
            }
        }
        guard !postings.isEmpty else { return }
        // Lists ranked in key order, so the appends walk the table forwards. Facets
        // filed under one key (an IPv4 address and its IPv4-mapped form) share a rank:
        // one list, whose seqs are appended together, in order.
        let keys = facets.map(\.indexKey)
        let order = keys.indices.sorted { keys[$0].lexicographicallyPrecedes(keys[$1]) }
        var rank = [Int32](repeating: 0, count: keys.count)
        var place: Int32 = 0
        for (i, list) in order.enumerated() {
            if i > 0, keys[list] != keys[order[i - 1]] { place += 1 }
            rank[list] = place
        }
        for i in postings.indices { postings[i].list = rank[Int(postings[i].list)] }
        postings.sort { a, b in a.list != b.list ? a.list < b.list : a.seq < b.seq }
        var keyOfRank = [Int](repeating: 0, count: Int(place) + 1)
        for list in keys.indices { keyOfRank[Int(rank[list])] = list }
        var seqs: [UInt64] = []
        var scratch = PostingScratch()
        try txn.withCursor(index) { (cursor) throws in
            var start = 0
            while start < postings.count {
                let list = keyOfRank[Int(postings[start].list)]
                let ranked = postings[start].list
                seqs.removeAll(keepingCapacity: true)
                var end = start
                while end < postings.count, postings[end].list == ranked {
                    seqs.append(postings[end].seq)
                    end += 1
                }
                try keys[list].withUnsafeBytes { (key) throws in
                    try seqs.withUnsafeBufferPointer { (values) throws in
                        try cursor.appendPostings(key, values, using: &scratch)
                    }
                }
                start = end
            }
        }
    }
}
