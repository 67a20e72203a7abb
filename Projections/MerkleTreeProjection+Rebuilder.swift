import Events
import Store

extension MerkleTreeProjection {
    /// Builds the tree of a rebuild in memory: full tiles' rows as they fill, written as they
    /// come, and the right edge, written when the transaction closes. It writes the rows
    /// ``MerkleTreeProjection/apply(_:in:)`` would have left, byte for byte.
    ///
    /// The leaves are the records themselves, which a ``LogChunk`` does not carry: a fold
    /// only notes how far the log was folded, and each write reads the records up to
    /// there from the log's environment and hashes them.
    struct Rebuilder: ProjectionRebuilder {
        let projection: MerkleTreeProjection
        /// The last seq a chunk folded, and the last seq hashed into the tree.
        var folded: UInt64 = 0
        var hashed: UInt64 = 0
        /// Per tile level: the hashes of its unfinished tile.
        var edge: [[UInt8]] = []
        /// The tiles filled since the last commit, and how many of them the open
        /// transaction holds.
        var filled: [(key: [UInt8], row: [UInt8])] = []
        var written = 0

        init(projection: MerkleTreeProjection) { self.projection = projection }

        mutating func fold(_ chunk: LogChunk) {
            if let last = chunk.lastSeq { folded = last }
        }

        mutating func write(into txn: borrowing Transaction, _ occasion: WriteOccasion) throws {
            if hashed < folded {
                var failure: (any Error)?
                try projection.readingLog(txn) { logTxn in
                try logTxn.withCursor(projection.log) { cursor in
                    var entry = try cursor.seek(atLeast: MerkleTreeProjection.seqKey(hashed + 1))
                    while let e = entry, hashed < folded {
                        do {
                            add(MerkleHash.leaf(try ChainedRecord.record(of: e.value)), level: 0)
                        } catch {
                            failure = error
                            return
                        }
                        hashed += 1
                        entry = try cursor.next()
                    }
                }
                }
                if let failure { throw failure }
                guard hashed == folded else { throw MerkleTreeError.missingRecord(hashed + 1) }
            }
            for (key, row) in filled[written...] { try txn.put(projection.tiles, key, row) }
            written = filled.count
            guard occasion == .closing else { return }
            // The edge of the last commit is replaced whole: tiles filled since then hold
            // some of its hashes, and the rest are written again.
            try txn.clear(projection.edge)
            let width = UInt64(MerkleTreeProjection.tileWidth)
            for (level, hashes) in edge.enumerated() {
                let count = UInt64(hashes.count / 32)
                let first = leaves(atTileLevel: level) / width * width
                for i in 0..<count {
                    let start = Int(i) * 32
                    try txn.put(
                        projection.edge, MerkleTreeProjection.key(UInt8(level), first + i),
                        Array(hashes[start..<start + 32]))
                }
            }
        }

        /// Hashes filed at tile level `level` so far.
        private func leaves(atTileLevel level: Int) -> UInt64 {
            hashed >> UInt64(MerkleTreeProjection.tileHeight * level)
        }

        private mutating func add(_ hash: Digest, level: Int) {
            if edge.count == level { edge.append([]) }
            hash.withUnsafeBytes { edge[level].append(contentsOf: $0) }
            guard edge[level].count == MerkleTreeProjection.tileWidth * 32 else { return }
            let tile = edge[level]
            edge[level].removeAll(keepingCapacity: true)
            // The tile's index: the hashes filed at this level before it, over 256. The
            // leaf being hashed is not counted in `hashed` yet.
            let index = ((hashed + 1) >> UInt64(MerkleTreeProjection.tileHeight * (level + 1))) - 1
            let row = MerkleTreeProjection.row(ofTile: tile)
            filled.append((MerkleTreeProjection.key(UInt8(level), index), row))
            add(MerkleTreeProjection.root(ofRow: row), level: level + 1)
        }

        mutating func rewind() { written = 0 }

        mutating func committed() {
            filled.removeAll()
            written = 0
        }
    }
}
