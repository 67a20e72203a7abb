public import Events
public import Store

extension MerkleTreeProjection {
    /// MTH of the first `size` leaves; `size` must not pass the tree's size (the
    /// projection's checkpoint).
    public func root(size: UInt64, in txn: borrowing Transaction) throws -> Digest {
        try MerkleTree.root(size: size) { level, index in try node(level: level, index: index, in: txn) }
    }

    /// The leaf hash of leaf `leaf` (the event with seq `leaf + 1`).
    public func leafHash(leaf: UInt64, in txn: borrowing Transaction) throws -> Digest {
        try node(level: 0, index: leaf, in: txn)
    }

    /// The RFC 9162 audit path of `leaf` in the tree of `size` leaves (`leaf < size`,
    /// `size` at most the tree's size).
    public func inclusionProof(leaf: UInt64, size: UInt64, in txn: borrowing Transaction) throws -> [Digest] {
        try MerkleTree.inclusionProof(leaf: leaf, size: size) { level, index in
            try node(level: level, index: index, in: txn)
        }
    }

    /// The RFC 9162 consistency proof from the tree of `from` leaves to the tree of `to`
    /// (`from <= to`, `to` at most the tree's size).
    public func consistencyProof(from: UInt64, to: UInt64, in txn: borrowing Transaction) throws -> [Digest] {
        try MerkleTree.consistencyProof(from: from, to: to) { level, index in
            try node(level: level, index: index, in: txn)
        }
    }

    /// The hash of the complete subtree at `level` and `index`: one row read (a full
    /// tile's, at most one node hash away; or the unfinished tile's hashes on the edge,
    /// hashed up).
    public func node(level: Int, index: UInt64, in txn: borrowing Transaction) throws -> Digest {
        let tileLevel = UInt8(level / Self.tileHeight)
        let width = 1 << (level % Self.tileHeight)
        let first = index << UInt64(level % Self.tileHeight)
        let tileIndex = first / UInt64(Self.tileWidth)
        let offset = Int(first % UInt64(Self.tileWidth))
        let key = Self.key(tileLevel, tileIndex)
        let fromTile = try key.withUnsafeBytes { key -> Digest? in
            guard let row = try txn.get(tiles, key), row.count == Self.rowHashes * 32 else { return nil }
            return Self.subtree(ofRow: row, offset: offset, width: width)
        }
        if let fromTile { return fromTile }
        var hashes = [UInt8]()
        hashes.reserveCapacity(width * 32)
        try txn.withCursor(edge) { cursor in
            var entry = try cursor.seek(atLeast: Self.key(tileLevel, first))
            for i in 0..<UInt64(width) {
                guard let e = entry, e.value.count == 32, e.key.elementsEqual(Self.key(tileLevel, first + i)) else {
                    throw MerkleTreeError.missingHash(level: level, index: index)
                }
                hashes.append(contentsOf: e.value)
                entry = try cursor.next()
            }
        }
        return Self.root(ofTile: hashes, from: 0, count: width)
    }
}
