import Events

extension MerkleTreeProjection {
    /// The first interior level a full tile's row stores.
    static let firstStoredLevel = 2
    /// Hashes in a full tile's row: the tile's 256, then its nodes at levels 2 to 7.
    static let rowHashes = 382

    /// The row of a full tile: its 256 hashes (the C2SP tile, the first 8,192 bytes), then
    /// the tile's interior nodes at levels 2 (64 nodes) to 7 (2 nodes), 12,224 bytes in
    /// all. The interior nodes fill the third overflow page the tile takes anyway (an
    /// overflow run of 3 pages holds 12,272 bytes), and leave at most one node hash to
    /// compute for any subtree inside the tile.
    static func row(ofTile tile: [UInt8]) -> [UInt8] {
        var row = tile
        row.reserveCapacity(rowHashes * 32)
        var level = tile
        for height in 1..<tileHeight {
            var next: [UInt8] = []
            next.reserveCapacity(level.count / 2)
            level.withUnsafeBytes { hashes in
                for pair in stride(from: 0, to: hashes.count, by: 64) {
                    let left = Digest(bytes: UnsafeRawBufferPointer(rebasing: hashes[pair..<pair + 32])) ?? .zero
                    let right = Digest(bytes: UnsafeRawBufferPointer(rebasing: hashes[pair + 32..<pair + 64])) ?? .zero
                    MerkleHash.node(left, right).withUnsafeBytes { next.append(contentsOf: $0) }
                }
            }
            if height >= firstStoredLevel { row.append(contentsOf: next) }
            level = next
        }
        return row
    }

    /// The tile's root, from its row: the node over its two level-7 nodes.
    static func root(ofRow row: UnsafeRawBufferPointer) -> Digest {
        MerkleHash.node(stored(row, height: tileHeight - 1, index: 0), stored(row, height: tileHeight - 1, index: 1))
    }

    static func root(ofRow row: [UInt8]) -> Digest { row.withUnsafeBytes { root(ofRow: $0) } }

    /// The subtree of `width` (a power of two up to 128) hashes from `offset` of a full
    /// tile, from its row: stored from level 2 on, else at most one node hash away.
    static func subtree(ofRow row: UnsafeRawBufferPointer, offset: Int, width: Int) -> Digest {
        let height = width.trailingZeroBitCount
        guard height >= firstStoredLevel else { return root(ofTile: row, from: offset, count: width) }
        return stored(row, height: height, index: offset >> height)
    }

    /// Node `index` at `height` (2...7) inside the tile, as the row stores it.
    private static func stored(_ row: UnsafeRawBufferPointer, height: Int, index: Int) -> Digest {
        // Levels 2, 3, ... hold 64, 32, ... nodes after the tile's 256 hashes.
        var start = tileWidth
        for h in firstStoredLevel..<height { start += tileWidth >> h }
        let at = (start + index) * 32
        return Digest(bytes: UnsafeRawBufferPointer(rebasing: row[at..<at + 32])) ?? .zero
    }
}
