public import Events
public import Store

/// The live fold of a run of events: the run's records are read and hashed in one
/// transaction of the log's environment (not one per event), then filed in seq order.
extension MerkleTreeProjection {
    public func apply(contentsOf events: ArraySlice<Event>, in txn: borrowing Transaction) throws {
        guard !events.isEmpty else { return }
        var leaves: [Digest] = []
        leaves.reserveCapacity(events.count)
        try readingLog(txn) { (logTxn) throws in
            try logTxn.withCursor(log) { (cursor) throws in
                for event in events {
                    let value = try withUnsafeBytes(of: event.seq.bigEndian) { (k) throws in try cursor.seek(exactly: k) }
                    guard let value else {
                        throw MerkleTreeError.missingRecord(event.seq)
                    }
                    leaves.append(MerkleHash.leaf(try ChainedRecord.record(of: value)))
                }
            }
        }
        for (event, leaf) in zip(events, leaves) { try add(leaf, level: 0, index: event.seq - 1, in: txn) }
    }
}
