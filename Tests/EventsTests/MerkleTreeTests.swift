import Events
import Testing

/// The records of the test trees: "record-0", "record-1", ...
func testRecords(_ count: Int) -> [[UInt8]] { (0..<count).map { Array("record-\($0)".utf8) } }

func leafHashes(_ count: Int) -> [Digest] { testRecords(count).map { $0.withUnsafeBytes { MerkleHash.leaf($0) } } }

/// RFC 9162 section 2.1's definitions, written out as the RFC states them (recursion on
/// array slices), independent of ``MerkleTree``'s unrolled loops and hash sources.
enum NaiveRFC9162 {
    static func split(_ n: Int) -> Int {
        var k = 1
        while k * 2 < n { k *= 2 }
        return k
    }

    static func mth(_ d: ArraySlice<Digest>) -> Digest {
        switch d.count {
        case 0: return MerkleHash.emptyRoot
        case 1: return d[d.startIndex]
        default:
            let k = split(d.count)
            let mid = d.startIndex + k
            return MerkleHash.node(mth(d[..<mid]), mth(d[mid...]))
        }
    }

    static func path(_ m: Int, _ d: ArraySlice<Digest>) -> [Digest] {
        guard d.count > 1 else { return [] }
        let k = split(d.count)
        let mid = d.startIndex + k
        if m < k { return path(m, d[..<mid]) + [mth(d[mid...])] }
        return path(m - k, d[mid...]) + [mth(d[..<mid])]
    }

    static func subproof(_ m: Int, _ d: ArraySlice<Digest>, _ b: Bool) -> [Digest] {
        if m == d.count { return b ? [] : [mth(d)] }
        let k = split(d.count)
        let mid = d.startIndex + k
        if m <= k { return subproof(m, d[..<mid], b) + [mth(d[mid...])] }
        return subproof(m - k, d[mid...], false) + [mth(d[..<mid])]
    }

    static func proof(_ m: Int, _ d: ArraySlice<Digest>) -> [Digest] {
        m == 0 ? [] : subproof(m, d, true)
    }
}

func digest(_ hex: String) -> Digest {
    let bytes = stride(from: 0, to: hex.count, by: 2).map { i -> UInt8 in
        let start = hex.index(hex.startIndex, offsetBy: i)
        return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)!
    }
    return bytes.withUnsafeBytes { Digest(bytes: $0)! }
}

/// Computed with Python's hashlib, outside KeyLedger, over the records "record-0"...
@Test func treeHeadsAndProofsMatchVectorsComputedWithHashlib() throws {
    let tree = MerkleLeaves(leafHashes(8))
    #expect(tree.root(size: 0).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(tree.root(size: 1).hex == "45c7bdcd45db42b418f7c42663fbeb464c9f0a88980cbc31fdddd29d24f724ee")
    #expect(tree.root(size: 2).hex == "d075b56a4adef62530a52839802802da518a21b5d0bf35eb05fea2b295a855fa")
    #expect(tree.root(size: 3).hex == "d6a93c4b91bf4b5be4fae77b5be1439df69e7c7c38007eb704c299cd0e1057b1")
    #expect(tree.root(size: 7).hex == "ac49bffc2e4b5dc0e6a0fc76b80860d2c23955b84d453db541134372e2c5a91f")
    #expect(tree.root(size: 8).hex == "cec12395a3f3d7cc4d19a469f03b41f0a15b3a3167728474ab07bd4955a088b3")
    #expect(
        tree.inclusionProof(leaf: 2, size: 7).map(\.hex) == [
            "3553e2fd4b879cf5f4caa492148dea0fb452807344b114eea18199ff8bee78e5",
            "d075b56a4adef62530a52839802802da518a21b5d0bf35eb05fea2b295a855fa",
            "044bab588d04156ee9b18a3e7ef5e7b2d66da3d2b46f0b81ed4e7f2daf0bf842",
        ])
    #expect(
        tree.consistencyProof(from: 3, to: 7).map(\.hex) == [
            "9ce0ce11226041e0210f74ac994602e5a94d6e937e2e4fe92466094137845e24",
            "3553e2fd4b879cf5f4caa492148dea0fb452807344b114eea18199ff8bee78e5",
            "d075b56a4adef62530a52839802802da518a21b5d0bf35eb05fea2b295a855fa",
            "044bab588d04156ee9b18a3e7ef5e7b2d66da3d2b46f0b81ed4e7f2daf0bf842",
        ])
    #expect(
        tree.consistencyProof(from: 4, to: 8).map(\.hex) == [
            "400e97adff1da766d1161c1027a6f80395c85c90e158d098cec1fb70d4ad135b"
        ])
    #expect(
        MerkleVerification.verifyConsistency(
            from: 3, to: 7, fromRoot: digest("d6a93c4b91bf4b5be4fae77b5be1439df69e7c7c38007eb704c299cd0e1057b1"),
            toRoot: digest("ac49bffc2e4b5dc0e6a0fc76b80860d2c23955b84d453db541134372e2c5a91f"),
            proof: tree.consistencyProof(from: 3, to: 7)))
}

@Test func everyRootAndInclusionProofUpTo64LeavesMatchesTheRFCAndVerifies() throws {
    let leaves = leafHashes(64)
    let tree = MerkleLeaves(leaves)
    for size in 0...64 {
        let root = tree.root(size: UInt64(size))
        #expect(root == NaiveRFC9162.mth(leaves[..<size]), "root of \(size)")
        for leaf in 0..<size {
            let path = tree.inclusionProof(leaf: UInt64(leaf), size: UInt64(size))
            #expect(path == NaiveRFC9162.path(leaf, leaves[..<size]), "path of \(leaf) in \(size)")
            #expect(
                MerkleVerification.verifyInclusion(
                    leafHash: leaves[leaf], leaf: UInt64(leaf), size: UInt64(size), path: path, root: root))
            // Another leaf's hash, another index, a shorter path or a flipped hash: refused.
            let other = leaves[(leaf + 1) % 64]
            #expect(
                !MerkleVerification.verifyInclusion(
                    leafHash: other, leaf: UInt64(leaf), size: UInt64(size), path: path, root: root))
            if size > 1 {
                #expect(
                    !MerkleVerification.verifyInclusion(
                        leafHash: leaves[leaf], leaf: UInt64((leaf + 1) % size), size: UInt64(size), path: path,
                        root: root))
                #expect(
                    !MerkleVerification.verifyInclusion(
                        leafHash: leaves[leaf], leaf: UInt64(leaf), size: UInt64(size), path: path.dropLast(),
                        root: root))
                var flipped = path
                flipped[flipped.count / 2] = MerkleHash.node(flipped[flipped.count / 2], .zero)
                #expect(
                    !MerkleVerification.verifyInclusion(
                        leafHash: leaves[leaf], leaf: UInt64(leaf), size: UInt64(size), path: flipped, root: root))
            }
        }
        #expect(
            !MerkleVerification.verifyInclusion(
                leafHash: leaves[0], leaf: UInt64(size), size: UInt64(size), path: [], root: root))
    }
}

@Test func everyConsistencyProofUpTo64LeavesMatchesTheRFCAndVerifies() throws {
    let leaves = leafHashes(64)
    let tree = MerkleLeaves(leaves)
    let roots = (0...64).map { tree.root(size: UInt64($0)) }
    for to in 0...64 {
        for from in 0...to {
            let proof = tree.consistencyProof(from: UInt64(from), to: UInt64(to))
            #expect(proof == NaiveRFC9162.proof(from, leaves[..<to]), "proof \(from) -> \(to)")
            #expect(
                MerkleVerification.verifyConsistency(
                    from: UInt64(from), to: UInt64(to), fromRoot: roots[from], toRoot: roots[to], proof: proof))
            guard from > 0, from < to else { continue }
            // A rewritten old tree, a wrong new root, a truncated or altered proof: refused.
            let wrong = MerkleHash.node(roots[from], roots[from])
            #expect(
                !MerkleVerification.verifyConsistency(
                    from: UInt64(from), to: UInt64(to), fromRoot: wrong, toRoot: roots[to], proof: proof))
            #expect(
                !MerkleVerification.verifyConsistency(
                    from: UInt64(from), to: UInt64(to), fromRoot: roots[from], toRoot: wrong, proof: proof))
            #expect(
                !MerkleVerification.verifyConsistency(
                    from: UInt64(from), to: UInt64(to), fromRoot: roots[from], toRoot: roots[to],
                    proof: proof.dropLast()))
            var altered = proof
            altered[0] = MerkleHash.node(altered[0], .zero)
            #expect(
                !MerkleVerification.verifyConsistency(
                    from: UInt64(from), to: UInt64(to), fromRoot: roots[from], toRoot: roots[to], proof: altered))
        }
    }
}

@Test(arguments: [(1000, 0), (1000, 999), (1000, 511), (4097, 4096), (65_539, 40_000)])
func proofsOfLargerTreesVerify(size: Int, leaf: Int) throws {
    let leaves = leafHashes(size)
    let tree = MerkleLeaves(leaves)
    let root = tree.root(size: UInt64(size))
    #expect(root == NaiveRFC9162.mth(leaves[...]))
    let path = tree.inclusionProof(leaf: UInt64(leaf), size: UInt64(size))
    #expect(path == NaiveRFC9162.path(leaf, leaves[...]))
    #expect(
        MerkleVerification.verifyInclusion(
            leafHash: leaves[leaf], leaf: UInt64(leaf), size: UInt64(size), path: path, root: root))
    let from = leaf + 1
    let proof = tree.consistencyProof(from: UInt64(from), to: UInt64(size))
    #expect(proof == NaiveRFC9162.proof(from, leaves[...]))
    #expect(
        MerkleVerification.verifyConsistency(
            from: UInt64(from), to: UInt64(size), fromRoot: tree.root(size: UInt64(from)), toRoot: root,
            proof: proof))
}
