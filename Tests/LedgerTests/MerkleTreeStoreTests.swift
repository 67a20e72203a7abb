import Events
import Ledger
import Projections
import Store
import Testing

/// A log of `count` access records, sealed as the ledger stores them, in an environment
/// of its own with the tree's tables; the tree folded as the writer folds it.
struct StoredTreeFixture {
    let directory = TempDirectory()
    let environment: Environment
    let tree: MerkleTreeProjection
    let records: [[UInt8]]

    init(count: Int, fold: Bool = true) throws {
        environment = try Environment(
            path: directory.path, tables: [EventLog.tableSpec] + MerkleTreeProjection.tableSpecs)
        tree = MerkleTreeProjection(
            environment: environment, logEnvironment: nil, log: environment.table(EventLog.tableSpec.name))
        let id = KeyID(high: 7, low: 9)
        records = (0..<count).map { i in
            EventCodec.encode(
                Event(
                    seq: UInt64(i + 1), time: 1_795_417_200_000_000 + Int64(i), keyID: id, owner: "org_1",
                    actor: Actor(kind: .key, id: id.description), ip: nil, requestID: nil,
                    payload: .accessed(KeyAccessed(code: .valid, latencyMicros: UInt32(i % 1000)))))
        }
        let events = environment.table(EventLog.tableSpec.name)
        try environment.write { [records, tree] txn in
            var prev = Digest.zero
            for (i, record) in records.enumerated() {
                let sealed = ChainedRecord.seal(record, after: prev)
                prev = sealed.hash
                try txn.put(events, withUnsafeBytes(of: UInt64(i + 1).bigEndian) { Array($0) }, sealed.value)
                if fold {
                    try tree.apply(
                        Event(
                            seq: UInt64(i + 1), time: 0, keyID: id, owner: "", actor: Actor(kind: .system, id: ""),
                            ip: nil, requestID: nil, payload: .expired), in: txn)
                }
            }
        }
    }

    var leaves: MerkleLeaves { MerkleLeaves(records.map { $0.withUnsafeBytes { MerkleHash.leaf($0) } }) }

    /// Every row of the tree's tables.
    func dump() throws -> [[UInt8]] {
        try environment.read { txn in
            var rows: [[UInt8]] = []
            for table in tree.tables {
                try txn.withCursor(table) { cursor in
                    var entry = try cursor.first()
                    while let e = entry {
                        rows.append(Array(e.key) + [0xFF] + Array(e.value))
                        entry = try cursor.next()
                    }
                }
                rows.append([])
            }
            return rows
        }
    }
}

/// 70,000 leaves: full tiles at levels 0 and 1 and an edge at levels 0, 1 and 2.
@Test func theStoredTreeAnswersAsTheTreeComputedInMemory() throws {
    let f = try StoredTreeFixture(count: 70_000)
    defer { f.directory.remove() }
    let leaves = f.leaves
    var rng = SplitMix64(seed: 14)
    let sizes: [UInt64] = [0, 1, 2, 255, 256, 257, 511, 512, 65_535, 65_536, 65_537, 70_000]
    let random = (0..<12).map { _ in 1 + rng.next() % 70_000 }
    try f.environment.read { txn throws in
        for size in sizes + random {
            let root = try f.tree.root(size: size, in: txn)
            #expect(root == leaves.root(size: size), "root of \(size)")
            guard size > 0 else { continue }
            for leaf in [0, size - 1, rng.next() % size] {
                let path = try f.tree.inclusionProof(leaf: leaf, size: size, in: txn)
                #expect(path == leaves.inclusionProof(leaf: leaf, size: size), "path of \(leaf) in \(size)")
                let leafHash = try f.tree.leafHash(leaf: leaf, in: txn)
                #expect(leafHash == leaves.leaves[Int(leaf)])
            }
            let from = rng.next() % (size + 1)
            let proof = try f.tree.consistencyProof(from: from, to: size, in: txn)
            #expect(proof == leaves.consistencyProof(from: from, to: size), "proof \(from) -> \(size)")
        }
    }
}

/// A rebuild (chunks of uneven sizes, commits between them, one transaction aborted and
/// written again) leaves the rows the incremental fold left.
@Test(arguments: [(70_000, 9_973), (300, 7), (256, 256)])
func rebuildingTheTreeWritesTheRowsOfTheIncrementalFold(count: Int, chunk: Int) throws {
    let incremental = try StoredTreeFixture(count: count)
    defer { incremental.directory.remove() }
    let rebuilt = try StoredTreeFixture(count: count, fold: false)
    defer { rebuilt.directory.remove() }
    var builder = rebuilt.tree.makeRebuilder()
    var decoder = ChunkDecoder(context: .minimal, hashingLeaves: builder.needsLeaves)
    var seq = 0
    var commits = 0
    while seq < count {
        let end = min(count, seq + chunk)
        for i in seq..<end { try rebuilt.records[i].withUnsafeBytes { try decoder.add($0, seq: UInt64(i + 1)) } }
        var piece = decoder.take()
        piece.endsLog = end == count
        builder.fold(piece)
        seq = end
        let closing = commits % 2 == 1 || seq == count
        if commits == 2 {
            // Aborted: a rebuild begins the transaction again and writes everything again.
            struct Abort: Error {}
            _ = try? rebuilt.environment.write { txn in
                try builder.write(into: txn, .closing)
                throw Abort()
            }
            builder.rewind()
        }
        try rebuilt.environment.write { txn in try builder.write(into: txn, closing ? .closing : .folded) }
        if closing { builder.committed() }
        commits += 1
    }
    #expect(try rebuilt.dump() == incremental.dump())
}

@Test func aLedgerProvesItsEventsAndRefusesSizesPastItsTree() throws {
    let f = try LedgerFixture()
    let (_, secret) = try f.create()
    for _ in 0..<300 { _ = try f.verify(secret) }
    let head = try f.ledger.treeHead()
    #expect(head.size == f.headSeq)
    let old = try f.ledger.treeRoot(size: 100)
    let proof = try f.ledger.inclusionProof(seq: 42, size: head.size)
    #expect(proof.leafIndex == 41)
    #expect(
        MerkleVerification.verifyInclusion(
            leafHash: proof.leafHash, leaf: 41, size: head.size, path: proof.hashes, root: head.root))
    #expect(
        MerkleVerification.verifyConsistency(
            from: 100, to: head.size, fromRoot: old, toRoot: head.root,
            proof: try f.ledger.consistencyProof(from: 100, to: head.size)))
    #expect(throws: LedgerError.self) { try f.ledger.inclusionProof(seq: 0, size: head.size) }
    #expect(throws: LedgerError.self) { try f.ledger.inclusionProof(seq: 5, size: head.size + 1) }
    #expect(throws: LedgerError.self) { try f.ledger.consistencyProof(from: 5, to: head.size + 1) }
    #expect(throws: LedgerError.self) { try f.ledger.consistencyProof(from: 5, to: 4) }
}
