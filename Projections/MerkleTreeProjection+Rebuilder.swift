import Events
import Store
import Synchronization

extension MerkleTreeProjection {
    /// Builds the tree of a rebuild in memory: full tiles' rows as they fill, written as they
    /// come, and the right edge, written when the transaction closes. It writes the rows
    /// ``MerkleTreeProjection/apply(_:in:)`` would have left, byte for byte.
    ///
    /// The leaves are the records' hashes, which the rebuild's reads make as they read the
    /// records (``LogChunk/leaves``); the tiles are hashed by ``TileBuilder``, a chunk
    /// ahead on another thread, so the writing thread only puts rows.
    struct Rebuilder: ProjectionRebuilder {
        let projection: MerkleTreeProjection
        let builder = TileBuilder()
        var preparer: (any ChunkPreparer)? { builder }
        var needsLeaves: Bool { true }
        /// The tiles built since the last commit, chunk by chunk, and how many of those
        /// the open transaction holds.
        var pending: [BuiltTiles] = []
        var written = 0
        /// The edge after the last chunk folded.
        var edge = TreeEdge()

        init(projection: MerkleTreeProjection) { self.projection = projection }

        mutating func fold(_ chunk: LogChunk) { add(builder.build(chunk)) }

        mutating func fold(prepared: any Sendable) {
            guard let tiles = prepared as? BuiltTiles else {
                preconditionFailure("the tree rebuilder was handed another projection's preparation")
            }
            add(tiles)
        }

        private mutating func add(_ tiles: BuiltTiles) {
            edge = tiles.edge
            pending.append(tiles)
        }

        mutating func write(into txn: borrowing Transaction, _ occasion: WriteOccasion) throws {
            for tiles in pending[written...] {
                for (key, row) in tiles.filled { try txn.put(projection.tiles, key, row) }
            }
            written = pending.count
            guard occasion == .closing else { return }
            // The edge of the last commit is replaced whole: tiles filled since then hold
            // some of its hashes, and the rest are written again.
            try txn.clear(projection.edge)
            let width = UInt64(MerkleTreeProjection.tileWidth)
            for (level, hashes) in edge.levels.enumerated() {
                let count = UInt64(hashes.count / 32)
                let first = edge.leaves(atTileLevel: level) / width * width
                for i in 0..<count {
                    let start = Int(i) * 32
                    try txn.put(
                        projection.edge, MerkleTreeProjection.key(UInt8(level), first + i),
                        Array(hashes[start..<start + 32]))
                }
            }
        }

        mutating func rewind() { written = 0 }

        mutating func committed() {
            pending.removeAll()
            written = 0
        }
    }

    /// The tree's right edge as a rebuild builds it: per tile level, the hashes of its
    /// unfinished tile, and the leaves hashed in all.
    struct TreeEdge: Sendable {
        var levels: [[UInt8]] = []
        var hashed: UInt64 = 0

        /// Hashes filed at tile level `level` so far.
        func leaves(atTileLevel level: Int) -> UInt64 {
            hashed >> UInt64(MerkleTreeProjection.tileHeight * level)
        }
    }

    /// What one chunk's leaves made: the rows of the tiles they filled (key, row), in the
    /// order filled, and the edge after them.
    struct BuiltTiles: Sendable {
        var filled: [(key: [UInt8], row: [UInt8])] = []
        var edge = TreeEdge()
    }

    /// Files each chunk's leaves into the edge, hashing every tile they fill (its row and
    /// its root, filed one level up).
    final class TileBuilder: ChunkPreparer {
        private let state = Mutex(TreeEdge())

        func prepare(_ chunk: LogChunk) -> any Sendable { build(chunk) }

        func build(_ chunk: LogChunk) -> BuiltTiles {
            precondition(
                chunk.leaves.count == chunk.count, "a tree rebuild needs a decoder hashing leaves (hashingLeaves)")
            return state.withLock { edge in
                var built = BuiltTiles()
                for leaf in chunk.leaves {
                    Self.add(leaf, level: 0, to: &edge, &built.filled)
                    edge.hashed += 1
                }
                built.edge = edge
                return built
            }
        }

        private static func add(
            _ hash: Digest, level: Int, to edge: inout TreeEdge, _ filled: inout [(key: [UInt8], row: [UInt8])]
        ) {
            if edge.levels.count == level { edge.levels.append([]) }
            hash.withUnsafeBytes { edge.levels[level].append(contentsOf: $0) }
            guard edge.levels[level].count == MerkleTreeProjection.tileWidth * 32 else { return }
            let tile = edge.levels[level]
            edge.levels[level].removeAll(keepingCapacity: true)
            // The tile's index: the hashes filed at this level before it, over 256. The
            // leaf being hashed is not counted in `hashed` yet.
            let index = ((edge.hashed + 1) >> UInt64(MerkleTreeProjection.tileHeight * (level + 1))) - 1
            let row = MerkleTreeProjection.row(ofTile: tile)
            filled.append((MerkleTreeProjection.key(UInt8(level), index), row))
            add(MerkleTreeProjection.root(ofRow: row), level: level + 1, to: &edge, &filled)
        }
    }
}
