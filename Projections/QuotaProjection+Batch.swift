public import Events
public import Store

/// The live fold of a run of events: an access of a key without a quota row whose owner
/// has no record changes nothing, and most accesses are such. The keys found so are
/// remembered for the rest of the run, until an event folds into the rows (it may make
/// one): a key's later accesses cost one probe of a table, with nothing read, hashed or
/// allocated.
extension QuotaProjection {
    public func apply(contentsOf events: ArraySlice<Event>, in txn: borrowing Transaction) throws {
        // By key: the number of events folded into the rows when the key was last found
        // without a row and an owner's record (a finding holds until that number moves).
        var keysWithout = KeyIndexTable(minimumCapacity: min(events.count, 4_096))
        var foundAt: [Int] = []
        var folded = 0
        try events.withUnsafeBufferPointer { (events) throws in
            for i in events.indices {
                if case .accessed = events[i].payload {
                    let id = events[i].keyID
                    let known = keysWithout[id]
                    if let known, foundAt[known] == folded { continue }
                    let hasKey = try withUnsafeBytes(of: (id.high.bigEndian, id.low.bigEndian)) { (k) throws in
                        try txn.get(keys, k) != nil
                    }
                    if !hasKey {
                        var owner = events[i].owner
                        let hasOwner = try owner.withUTF8 { (o) throws in
                            try txn.get(owners, UnsafeRawBufferPointer(o)) != nil
                        }
                        if !hasOwner {
                            if let known {
                                foundAt[known] = folded
                            } else {
                                keysWithout.insert(id, foundAt.count)
                                foundAt.append(folded)
                            }
                            continue
                        }
                    }
                }
                folded += 1
                try apply(events[i], in: txn)
            }
        }
    }
}
