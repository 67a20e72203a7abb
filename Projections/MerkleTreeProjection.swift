public import Events
public import Store

/// The log's RFC 9162 Merkle tree, stored as C2SP tlog-tiles: tiles of 256 hashes.
///
/// Tile `(L, N)` holds the hashes at tree level `8L` with indices `256N ..< 256N + 256`:
/// level 0 holds the leaf hashes, level 1 the roots of the level-0 tiles, and so on. Full
/// tiles are one row each in `merkle_tiles`: the tile's 8,192 bytes, then its interior
/// nodes (``row(ofTile:)``); the hashes of each level's one unfinished tile (the tree's
/// right edge) are a row each in `merkle_edge`, moved into a tile when its 256th hash
/// comes. Every complete subtree's hash is then one row read and at most one node hash
/// away (127 on the edge), so a root or a proof takes O(log n) reads.
///
/// Level 0 is stored rather than recomputed from the records: a proof for a leaf would
/// otherwise read and hash up to 255 records. A full tile's row takes 3 LMDB overflow
/// pages (12 KiB) for 256 events, 48 bytes per event, plus 1/256 of that per level above.
///
/// The tree's size is this projection's checkpoint: it has folded every event up to it.
public struct MerkleTreeProjection: Projection {
    public static let tableSpecs = [TableSpec("merkle_tiles"), TableSpec("merkle_edge")]
    public let name = "merkle"
    public let needsEventContext = false
    let tiles: Table
    let edge: Table
    /// The log's `events` table, whose records are the leaves, and the environment
    /// holding it when it is not this projection's (nil: the same, read in the
    /// transaction the tree is written in).
    let log: Table
    let logEnvironment: Environment?
    public var tables: [Table] { [tiles, edge] }

    /// Hashes per tile, and the tree levels one tile spans.
    static let tileWidth = 256
    static let tileHeight = 8

    /// - Parameter log: the table of the log's records (seq big-endian -> record ||
    ///   prevHash || hash).
    public init(environment: Environment, logEnvironment: Environment?, log: Table) {
        tiles = environment.table("merkle_tiles")
        edge = environment.table("merkle_edge")
        self.log = log
        self.logEnvironment = logEnvironment
    }

    public func apply(_ event: Event, in txn: borrowing Transaction) throws {
        try add(try leafHash(seq: event.seq, in: txn), level: 0, index: event.seq - 1, in: txn)
    }

    public func makeRebuilder() -> any ProjectionRebuilder { Rebuilder(projection: self) }

    /// The leaf hash of the record stored under `seq`, read in a transaction of the log's
    /// environment.
    func leafHash(seq: UInt64, in txn: borrowing Transaction) throws -> Digest {
        let key = Self.seqKey(seq)
        func hash(_ txn: borrowing Transaction) throws -> Digest {
            try key.withUnsafeBytes { key in
                guard let value = try txn.get(log, key) else { throw MerkleTreeError.missingRecord(seq) }
                return MerkleHash.leaf(try ChainedRecord.record(of: value))
            }
        }
        guard let logEnvironment else { return try hash(txn) }
        return try logEnvironment.read { logTxn in try hash(logTxn) }
    }

    /// Runs `body` in a transaction that reads the log: `txn`, or one of the log's
    /// environment.
    func readingLog<T>(_ txn: borrowing Transaction, _ body: (borrowing Transaction) throws -> T) throws -> T {
        guard let logEnvironment else { return try body(txn) }
        return try logEnvironment.read(body)
    }

    /// Files hash `index` of tile level `level`; the 256th of a tile moves the tile's
    /// hashes from the edge into a full tile and files its root one level up.
    func add(_ hash: Digest, level: UInt8, index: UInt64, in txn: borrowing Transaction) throws {
        try txn.put(edge, Self.key(level, index), hash.bytes)
        guard index % UInt64(Self.tileWidth) == UInt64(Self.tileWidth - 1) else { return }
        let tileIndex = index / UInt64(Self.tileWidth)
        let first = tileIndex * UInt64(Self.tileWidth)
        var tile = [UInt8]()
        tile.reserveCapacity(Self.tileWidth * 32)
        try txn.withCursor(edge) { cursor in
            var entry = try cursor.seek(atLeast: Self.key(level, first))
            for _ in 0..<Self.tileWidth {
                guard let e = entry, e.value.count == 32 else { throw MerkleTreeError.brokenEdge(level: level) }
                tile.append(contentsOf: e.value)
                entry = try cursor.next()
            }
        }
        guard tile.count == Self.tileWidth * 32 else { throw MerkleTreeError.brokenEdge(level: level) }
        for i in first...index { _ = try txn.delete(edge, Self.key(level, i)) }
        let row = Self.row(ofTile: tile)
        try txn.put(tiles, Self.key(level, tileIndex), row)
        try add(Self.root(ofRow: row), level: level + 1, index: tileIndex, in: txn)
    }

    /// The row key of hash or tile `index` at tile level `level`: the level, then the
    /// index big-endian, so rows sort by level, then index.
    static func key(_ level: UInt8, _ index: UInt64) -> [UInt8] {
        withUnsafeBytes(of: index.bigEndian) { [level] + $0 }
    }

    static func seqKey(_ seq: UInt64) -> [UInt8] { withUnsafeBytes(of: seq.bigEndian) { Array($0) } }

    /// MTH of `count` (a power of two) hashes of `tile` from `from`: a complete subtree.
    static func root(ofTile tile: UnsafeRawBufferPointer, from: Int, count: Int) -> Digest {
        guard count > 1 else {
            return Digest(bytes: UnsafeRawBufferPointer(rebasing: tile[(from * 32)..<(from * 32 + 32)])) ?? .zero
        }
        let half = count / 2
        return MerkleHash.node(
            root(ofTile: tile, from: from, count: half), root(ofTile: tile, from: from + half, count: half))
    }

    static func root(ofTile tile: [UInt8], from: Int, count: Int) -> Digest {
        tile.withUnsafeBytes { root(ofTile: $0, from: from, count: count) }
    }
}

/// The stored tree does not hold what the log says it must: a projection to rebuild
/// (`keyledger replay`).
public enum MerkleTreeError: Error, CustomStringConvertible {
    case missingRecord(UInt64)
    case brokenEdge(level: UInt8)
    case missingHash(level: Int, index: UInt64)

    public var description: String {
        switch self {
        case .missingRecord(let seq): "the log has no record at seq \(seq) for the Merkle tree"
        case .brokenEdge(let level): "the Merkle tree's unfinished tile at level \(level) lacks hashes"
        case .missingHash(let level, let index):
            "the Merkle tree lacks the subtree hash at level \(level), index \(index): rebuild it (keyledger replay)"
        }
    }
}
