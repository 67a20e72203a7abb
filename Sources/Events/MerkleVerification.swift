/// The verification algorithms of RFC 9162: what an auditor runs on a proof, with only
/// the hashes it was given and the tree heads it trusts.
public enum MerkleVerification {
    /// RFC 9162 2.1.3.2: true when `path` proves that `leafHash` is leaf `leaf` of the
    /// tree of `size` leaves whose root is `root`.
    public static func verifyInclusion(
        leafHash: Digest, leaf: UInt64, size: UInt64, path: [Digest], root: Digest
    ) -> Bool {
        guard leaf < size else { return false }
        var fn = leaf
        var sn = size - 1
        var r = leafHash
        for p in path {
            guard sn > 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                r = MerkleHash.node(p, r)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                r = MerkleHash.node(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// RFC 9162 2.1.4.2: true when `proof` proves that the tree of `from` leaves with root
    /// `fromRoot` is a prefix of the tree of `to` leaves with root `toRoot`. The empty
    /// tree is a prefix of every tree (with an empty proof); a tree is consistent with
    /// itself when the roots are equal and the proof is empty.
    public static func verifyConsistency(
        from: UInt64, to: UInt64, fromRoot: Digest, toRoot: Digest, proof: [Digest]
    ) -> Bool {
        guard from <= to else { return false }
        if from == 0 { return proof.isEmpty && fromRoot == MerkleHash.emptyRoot }
        if from == to { return proof.isEmpty && fromRoot == toRoot }
        var path = proof
        if from & (from - 1) == 0 { path.insert(fromRoot, at: 0) }
        guard let first = path.first else { return false }
        var fn = from - 1
        var sn = to - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = first
        var sr = first
        for c in path.dropFirst() {
            guard sn > 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                fr = MerkleHash.node(c, fr)
                sr = MerkleHash.node(c, sr)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                sr = MerkleHash.node(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && fr == fromRoot && sr == toRoot
    }
}
