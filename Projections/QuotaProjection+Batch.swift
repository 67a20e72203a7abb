public import Events
public import Store

/// The live fold of a run of events: an access of a key without a quota row whose owner
/// has no record changes nothing, and most accesses are such; the owners found without
/// a record are remembered for the rest of the run (until an event folds into the rows:
/// it may make one), so most accesses cost one lookup, with nothing allocated.
extension QuotaProjection {
    public func apply(contentsOf events: ArraySlice<Event>, in txn: borrowing Transaction) throws {
        var ownersWithout = Set<String>()
        for event in events {
            if case .accessed = event.payload {
                let hasKey = try withUnsafeBytes(of: (event.keyID.high.bigEndian, event.keyID.low.bigEndian)) {
                    (k) throws in try txn.get(keys, k) != nil
                }
                if !hasKey {
                    if ownersWithout.contains(event.owner) { continue }
                    var owner = event.owner
                    let hasOwner = try owner.withUTF8 { (o) throws in try txn.get(owners, UnsafeRawBufferPointer(o)) != nil }
                    if !hasOwner {
                        ownersWithout.insert(event.owner)
                        continue
                    }
                }
            }
            ownersWithout.removeAll(keepingCapacity: true)
            try apply(event, in: txn)
        }
    }
}
