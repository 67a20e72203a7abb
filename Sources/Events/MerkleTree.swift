/// RFC 9162 (section 2.1) tree heads and proofs over the hashes of complete subtrees.
///
/// Each function takes `node(level, index)`: the hash of the complete subtree covering
/// the `2^level` leaves from `index << level` (level 0: the leaf hashes), for subtrees
/// that lie wholly inside the tree it computes over. It asks for O(log n) of them: the
/// ones that the recursions of MTH, PATH and PROOF meet, none twice.
public enum MerkleTree {
    /// MTH of the first `size` leaves.
    public static func root(size: UInt64, _ node: (Int, UInt64) throws -> Digest) rethrows -> Digest {
        size == 0 ? MerkleHash.emptyRoot : try hash(from: 0, count: size, node)
    }

    /// PATH(leaf, D[0:size]) (RFC 9162 2.1.3.1): the audit path from the leaf to the root,
    /// nearest sibling first.
    ///
    /// - Precondition: `leaf < size`.
    public static func inclusionProof(
        leaf: UInt64, size: UInt64, _ node: (Int, UInt64) throws -> Digest
    ) rethrows -> [Digest] {
        precondition(leaf < size, "leaf outside the tree")
        var path: [Digest] = []
        // The recursion of PATH, unrolled: the subtree [start, start + count) holds the leaf.
        var start: UInt64 = 0
        var count = size
        while count > 1 {
            let k = split(count)
            if leaf - start < k {
                path.append(try hash(from: start + k, count: count - k, node))
                count = k
            } else {
                path.append(try hash(from: start, count: k, node))
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
    public static func consistencyProof(
        from: UInt64, to: UInt64, _ node: (Int, UInt64) throws -> Digest
    ) rethrows -> [Digest] {
        precondition(from <= to, "consistency proof from a larger tree")
        guard from > 0, from < to else { return [] }
        var proof: [Digest] = []
        // SUBPROOF(m, D[start:start + count], complete), unrolled.
        var start: UInt64 = 0
        var count = to
        var m = from
        var complete = true
        while m != count {
            let k = split(count)
            if m <= k {
                proof.append(try hash(from: start + k, count: count - k, node))
                count = k
            } else {
                proof.append(try hash(from: start, count: k, node))
                start += k
                count -= k
                m -= k
                complete = false
            }
        }
        if !complete { proof.append(try hash(from: start, count: count, node)) }
        return proof.reversed()
    }

    /// MTH(D[start:start + count]) for a range the recursions meet: `start` is a multiple
    /// of the largest power of two below `count`, or of `count` when it is one.
    public static func hash(
        from start: UInt64, count: UInt64, _ node: (Int, UInt64) throws -> Digest
    ) rethrows -> Digest {
        if count & (count - 1) == 0 {
            let level = count.trailingZeroBitCount
            return try node(level, start >> UInt64(level))
        }
        let k = split(count)
        return MerkleHash.node(try hash(from: start, count: k, node), try hash(from: start + k, count: count - k, node))
    }

    /// The largest power of two smaller than `n` (n > 1).
    static func split(_ n: UInt64) -> UInt64 { 1 << UInt64(63 - (n - 1).leadingZeroBitCount) }
}

/// Leaf hashes in memory: the tree of a short run of records (tests, a verifier).
public struct MerkleLeaves: Sendable {
    public var leaves: [Digest]

    public init(_ leaves: [Digest]) { self.leaves = leaves }

    public func hash(level: Int, index: UInt64) -> Digest {
        guard level > 0 else { return leaves[Int(index)] }
        return MerkleHash.node(hash(level: level - 1, index: 2 * index), hash(level: level - 1, index: 2 * index + 1))
    }

    public func root(size: UInt64) -> Digest { MerkleTree.root(size: size, hash) }

    public func inclusionProof(leaf: UInt64, size: UInt64) -> [Digest] {
        MerkleTree.inclusionProof(leaf: leaf, size: size, hash)
    }

    public func consistencyProof(from: UInt64, to: UInt64) -> [Digest] {
        MerkleTree.consistencyProof(from: from, to: to, hash)
    }
}
