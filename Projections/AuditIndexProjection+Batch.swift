public import Events
public import Store
import Glibc

/// The live fold of a run of events: every posting list the run touches is appended to
/// once, with all of its new seqs, in key order through one cursor (a verification's
/// type, owner and address lists are shared by most events of a round).
extension AuditIndexProjection {
    public func apply(contentsOf events: ArraySlice<Event>, in txn: borrowing Transaction) throws {
        // Lists: about one per key in the run (found without hashing the id through
        // SipHash), and a few shared ones.
        var keyLists = KeyIndexTable(minimumCapacity: min(events.count, 4_096))
        var lists: [Facet: Int32] = [:]
        var facets: [Facet] = []
        var postings: [(list: Int32, seq: UInt64)] = []
        postings.reserveCapacity(events.count * 4)
        events.withUnsafeBufferPointer { events in
            for i in events.indices {
                let seq = events[i].seq
                Self.facets(of: events[i]) { facet in
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
                    postings.append((list, seq))
                }
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
            if case .key(let id) = facet {
                keyBytes.append(1)
                withUnsafeBytes(of: id.high.bigEndian) { keyBytes.append(contentsOf: $0) }
                withUnsafeBytes(of: id.low.bigEndian) { keyBytes.append(contentsOf: $0) }
            } else {
                keyBytes.append(contentsOf: facet.indexKey)
            }
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
