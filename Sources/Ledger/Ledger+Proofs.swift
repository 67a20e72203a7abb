public import Events
import Projections
import Store

/// An RFC 9162 inclusion proof of one event in the tree of `size` leaves.
public struct InclusionProof: Sendable, Equatable {
    public var seq: UInt64
    /// `seq - 1`: the event's leaf.
    public var leafIndex: UInt64 { seq - 1 }
    public var size: UInt64
    public var leafHash: Digest
    /// The audit path, leaf to root.
    public var hashes: [Digest]
}

/// The tree's size and root at one point of the log.
public struct TreeHead: Sendable, Equatable {
    public var size: UInt64
    public var root: Digest

    public init(size: UInt64, root: Digest) {
        self.size = size
        self.root = root
    }
}

extension Ledger {
    /// The log's Merkle tree: leaf `i` is the record of seq `i + 1`.
    var tree: MerkleTreeProjection { LedgerSchema.tree(projectionEnvironment, log: environment) }

    /// The tree as folded so far: its size (every event up to it) and root.
    public func treeHead() throws(LedgerError) -> TreeHead {
        try readProjections { txn in try treeHead(in: txn) }
    }

    func treeHead(in txn: borrowing Transaction) throws -> TreeHead {
        let size = try checkpoints.read(tree.name, in: txn)
        return TreeHead(size: size, root: try tree.root(size: size, in: txn))
    }

    /// The root of the tree of the first `size` events.
    ///
    /// - Throws: ``LedgerError/invalid(field:reason:)`` when `size` passes the tree.
    public func treeRoot(size: UInt64) throws(LedgerError) -> Digest {
        try readProjections { txn in
            try checkSize(size, field: "size", in: txn)
            return try tree.root(size: size, in: txn)
        }
    }

    /// The proof that the event `seq` is in the tree of `size` events.
    ///
    /// - Throws: ``LedgerError/invalid(field:reason:)`` when `seq` is not in `1...size`,
    ///   or `size` passes the tree.
    public func inclusionProof(seq: UInt64, size: UInt64) throws(LedgerError) -> InclusionProof {
        guard seq >= 1 else { throw .invalid(field: "seq", reason: "must be at least 1") }
        guard seq <= size else { throw .invalid(field: "seq", reason: "must not be larger than size (\(size))") }
        return try readProjections { txn in
            try checkSize(size, field: "size", in: txn)
            return InclusionProof(
                seq: seq, size: size, leafHash: try tree.leafHash(leaf: seq - 1, in: txn),
                hashes: try tree.inclusionProof(leaf: seq - 1, size: size, in: txn))
        }
    }

    /// The audit paths of the events `seqs` (each in `1...size`) in the tree of `size`
    /// events, in one read: neighbouring events share most of their paths, and each
    /// subtree hash is read once (what an export of many events needs).
    public func inclusionProofs(seqs: [UInt64], size: UInt64) throws(LedgerError) -> [[Digest]] {
        guard seqs.allSatisfy({ $0 >= 1 && $0 <= size }) else {
            throw .invalid(field: "seq", reason: "must be in 1...\(size)")
        }
        return try readProjections { txn in
            try checkSize(size, field: "size", in: txn)
            var known: [UInt64: Digest] = [:]
            return try seqs.map { seq in
                try MerkleTree.inclusionProof(leaf: seq - 1, size: size) { level, index in
                    let key = UInt64(level) << 56 | index
                    if let hash = known[key] { return hash }
                    let hash = try tree.node(level: level, index: index, in: txn)
                    known[key] = hash
                    return hash
                }
            }
        }
    }

    /// The proof that the tree of `from` events is a prefix of the tree of `to` events.
    ///
    /// - Throws: ``LedgerError/invalid(field:reason:)`` when `from > to` or `to` passes
    ///   the tree.
    public func consistencyProof(from: UInt64, to: UInt64) throws(LedgerError) -> [Digest] {
        guard from <= to else { throw .invalid(field: "from", reason: "must not be larger than to (\(to))") }
        return try readProjections { txn in
            try checkSize(to, field: "to", in: txn)
            return try tree.consistencyProof(from: from, to: to, in: txn)
        }
    }

    private func checkSize(_ size: UInt64, field: String, in txn: borrowing Transaction) throws {
        let treeSize = try checkpoints.read(tree.name, in: txn)
        guard size <= treeSize else {
            throw LedgerError.invalid(field: field, reason: "the tree holds \(treeSize) events, fewer than \(size)")
        }
    }
}
