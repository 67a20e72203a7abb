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
                for i in events.indices {
                    let seq = events[i].seq
                    let value = try withUnsafeBytes(of: seq.bigEndian) { (k) throws in try cursor.seek(exactly: k) }
                    guard let value else { throw MerkleTreeError.missingRecord(seq) }
                    leaves.append(MerkleHash.leaf(try ChainedRecord.record(of: value)))
                }
            }
        }
        try apply(leaves: leaves[...], of: events, in: txn)
    }

    /// Files `leaves`, the leaf hashes of the records of `events` (one each, in order),
    /// as ``apply(contentsOf:in:)`` does with the hashes it reads from the log: for a
    /// caller that has read the records already.
    public func apply(leaves: ArraySlice<Digest>, of events: ArraySlice<Event>, in txn: borrowing Transaction) throws {
        precondition(leaves.count == events.count, "one leaf per event")
        guard let first = events.first?.seq else { return }
        // The log's seqs follow one another: the leaves are consecutive hashes.
        guard events.last!.seq - first == UInt64(events.count - 1) else {
            for (i, leaf) in zip(events.indices, leaves) { try add(leaf, level: 0, index: events[i].seq - 1, in: txn) }
            return
        }
        try add(leaves, level: 0, first: first - 1, in: txn)
    }

    /// Files consecutive hashes `hashes` from index `first` of tile level `level`, as
    /// ``add(_:level:index:in:)`` one by one does, but a tile the run completes is put
    /// whole: its hashes from the run are never put on the edge and deleted again.
    func add(_ hashes: ArraySlice<Digest>, level: UInt8, first: UInt64, in txn: borrowing Transaction) throws {
        let width = UInt64(Self.tileWidth)
        var roots: [Digest] = []
        var firstRoot: UInt64 = 0
        let base = hashes.startIndex
        var i = 0
        while i < hashes.count {
            let index = first + UInt64(i)
            let tileIndex = index / width
            let tileStart = tileIndex * width
            let here = min(hashes.count - i, Int(tileStart + width - index))
            guard index + UInt64(here) == tileStart + width else {
                for j in 0..<here {
                    try hashes[base + i + j].withUnsafeBytes { (hash) throws in
                        try Self.withKey(level, index + UInt64(j)) { (key) throws in try txn.put(edge, key, hash) }
                    }
                }
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
            for j in 0..<here { hashes[base + i + j].withUnsafeBytes { tile.append(contentsOf: $0) } }
            let row = Self.row(ofTile: tile)
            try txn.put(tiles, Self.key(level, tileIndex), row)
            if roots.isEmpty { firstRoot = tileIndex }
            roots.append(Self.root(ofRow: row))
            i += here
        }
        if !roots.isEmpty { try add(roots[...], level: level + 1, first: firstRoot, in: txn) }
    }

    /// Calls `body` with the row key ``key(_:_:)`` makes, built on the stack.
    static func withKey<T>(_ level: UInt8, _ index: UInt64, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T
    {
        var bytes: (UInt64, UInt64) = (0, 0)
        return try withUnsafeMutableBytes(of: &bytes) { (raw) throws in
            raw[0] = level
            raw.storeBytes(of: index.bigEndian, toByteOffset: 1, as: UInt64.self)
            return try body(UnsafeRawBufferPointer(rebasing: raw[0..<9]))
        }
    }
}
