/// Where a Merkle tree's hashes come from: the hash of each complete subtree.
///
/// The subtree at `level` and `index` covers the `2^level` leaves from
/// `index << level`; level 0 holds the leaf hashes. ``MerkleTree`` asks only for subtrees
/// that lie wholly inside the tree it computes over.
public protocol MerkleHashSource {
    func hash(level: Int, index: UInt64) throws -> Digest
}

/// RFC 9162 (section 2.1) tree heads and proofs over a ``MerkleHashSource``.
///
/// Each answer asks the source for O(log n) complete subtrees: the ones that the
/// recursions of MTH, PATH and PROOF meet, never a leaf twice.
public struct MerkleTree<Source: MerkleHashSource> {
    public let source: Source

    public init(_ source: Source) { self.source = source }

    /// MTH of the first `size` leaves.
    public func root(size: UInt64) throws -> Digest {
        size == 0 ? MerkleHash.emptyRoot : try hash(from: 0, count: size)
    }

    /// PATH(leaf, D[0:size]) (RFC 9162 2.1.3.1): the audit path from the leaf to the root,
    /// nearest sibling first.
    ///
    /// - Precondition: `leaf < size`.
    public func inclusionProof(leaf: UInt64, size: UInt64) throws -> [Digest] {
        precondition(leaf < size, "leaf outside the tree")
        var path: [Digest] = []
        // The recursion of PATH, unrolled: the subtree [start, start + count) holds the leaf.
        var start: UInt64 = 0
        var count = size
        while count > 1 {
            let k = Self.split(count)
            if leaf - start < k {
                path.append(try hash(from: start + k, count: count - k))
                count = k
            } else {
                path.append(try hash(from: start, count: k))
                start += k
                count -= k
            }
        }
        return path.reversed()
    }

    /// PROOF(from, D[0:to]) (RFC 9162 2.1.4.1): the consistency proof between the tree of
    /// `from` leaves and the tree of `to` leaves; empty when `from` is 0 or `to`.
    ///
    /// - Precondition: `from <= to`.
    public func consistencyProof(from: UInt64, to: UInt64) throws -> [Digest] {
        precondition(from <= to, "consistency proof from a larger tree")
        guard from > 0, from < to else { return [] }
        var proof: [Digest] = []
        // SUBPROOF(m, D[start:start + count], complete), unrolled.
        var start: UInt64 = 0
        var count = to
        var m = from
        var complete = true
        while m != count {
            let k = Self.split(count)
            if m <= k {
                proof.append(try hash(from: start + k, count: count - k))
                count = k
            } else {
                proof.append(try hash(from: start, count: k))
                start += k
                count -= k
                m -= k
                complete = false
            }
        }
        if !complete { proof.append(try hash(from: start, count: count)) }
        return proof.reversed()
    }

    /// MTH(D[start:start + count]) for a range the recursions meet: `start` is a multiple
    /// of the largest power of two below `count`, or of `count` when it is one.
    public func hash(from start: UInt64, count: UInt64) throws -> Digest {
        if count & (count - 1) == 0 {
            let level = count.trailingZeroBitCount
            return try source.hash(level: level, index: start >> UInt64(level))
        }
        let k = Self.split(count)
        return MerkleHash.node(try hash(from: start, count: k), try hash(from: start + k, count: count - k))
    }

    /// The largest power of two smaller than `n` (n > 1).
    static func split(_ n: UInt64) -> UInt64 { 1 << UInt64(63 - (n - 1).leadingZeroBitCount) }
}

/// Leaf hashes in memory: the tree of a short run of records (tests, a verifier).
public struct MerkleLeaves: MerkleHashSource, Sendable {
    public var leaves: [Digest]

    public init(_ leaves: [Digest]) { self.leaves = leaves }

    public func hash(level: Int, index: UInt64) -> Digest {
        guard level > 0 else { return leaves[Int(index)] }
        return MerkleHash.node(hash(level: level - 1, index: 2 * index), hash(level: level - 1, index: 2 * index + 1))
    }
}
