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
        // The log's seqs follow one another: the leaves are consecutive hashes.
        guard let first = events.first?.seq, events.last!.seq - first == UInt64(events.count - 1) else {
            for (event, leaf) in zip(events, leaves) { try add(leaf, level: 0, index: event.seq - 1, in: txn) }
            return
        }
        try add(leaves, level: 0, first: first - 1, in: txn)
    }

    /// Files consecutive hashes `hashes` from index `first` of tile level `level`, as
    /// ``add(_:level:index:in:)`` one by one does, but a tile the run completes is put
    /// whole: its hashes from the run are never put on the edge and deleted again.
    func add(_ hashes: [Digest], level: UInt8, first: UInt64, in txn: borrowing Transaction) throws {
        let width = UInt64(Self.tileWidth)
        var roots: [Digest] = []
        var firstRoot: UInt64 = 0
        var i = 0
        while i < hashes.count {
            let index = first + UInt64(i)
            let tileIndex = index / width
            let tileStart = tileIndex * width
            let here = min(hashes.count - i, Int(tileStart + width - index))
            guard index + UInt64(here) == tileStart + width else {
                for j in 0..<here { try txn.put(edge, Self.key(level, index + UInt64(j)), hashes[i + j].bytes) }
                i += here
                continue
            }
            // The tile completes: the hashes before the run's from the edge, then the run's.
            var tile = [UInt8]()
            tile.reserveCapacity(Self.tileWidth * 32)
            let stored = Int(index - tileStart)
            if stored > 0 {
                try txn.withCursor(edge) { cursor in
                    var entry = try cursor.seek(atLeast: Self.key(level, tileStart))
                    for _ in 0..<stored {
                        guard let e = entry, e.value.count == 32 else { throw MerkleTreeError.brokenEdge(level: level) }
                        tile.append(contentsOf: e.value)
                        entry = try cursor.next()
                    }
                }
                for k in tileStart..<index { _ = try txn.delete(edge, Self.key(level, k)) }
            }
            for j in 0..<here { hashes[i + j].withUnsafeBytes { tile.append(contentsOf: $0) } }
            let row = Self.row(ofTile: tile)
            try txn.put(tiles, Self.key(level, tileIndex), row)
            if roots.isEmpty { firstRoot = tileIndex }
            roots.append(Self.root(ofRow: row))
            i += here
        }
        if !roots.isEmpty { try add(roots, level: level + 1, first: firstRoot, in: txn) }
    }
}
