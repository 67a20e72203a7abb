import Events
import Ledger
import Projections
import Store
import Testing

/// Changes the closed ledger at `path` in place, as someone with the files could.
func tamper(_ path: String, _ body: (borrowing Transaction, Table) throws -> Void) throws {
    let environment = try Environment(path: path, tables: LedgerSchema.tableSpecs)
    try environment.write { txn in try body(txn, environment.table(EventLog.tableSpec.name)) }
}

func seqKey(_ seq: UInt64) -> [UInt8] { withUnsafeBytes(of: seq.bigEndian) { Array($0) } }

/// A ledger of `count` events with checkpoints stored at `sizes` (and its head), closed.
func checkpointedLedger(_ f: LedgerFixture, events count: Int, checkpointsAt sizes: [UInt64]) throws -> UInt64 {
    let (_, secret) = try f.create()
    let checkpoints = try TreeCheckpoints(ledger: f.ledger)
    while f.headSeq < UInt64(count) {
        _ = try f.verify(secret)
        let head = try f.ledger.treeHead()
        if sizes.contains(head.size) { try checkpoints.record(head) }
    }
    try checkpoints.record(try f.ledger.treeHead())
    f.ledger.close()
    return f.headSeq
}

func refusal(_ path: String, clock: ManualClock) -> String? {
    do {
        let ledger = try LedgerFixture.open(path, clock: clock)
        ledger.close()
        return nil
    } catch {
        return "\(error)"
    }
}

@Test func aLedgerWhoseNewestEventsWereDeletedRefusesToOpenNamingThem() throws {
    let f = try LedgerFixture()
    let head = try checkpointedLedger(f, events: 40, checkpointsAt: [])
    try tamper(f.directory.path) { txn, events in
        for seq in (head - 2)...head { _ = try txn.delete(events, seqKey(seq)) }
    }
    let message = try #require(refusal(f.directory.path, clock: f.clock))
    #expect(message.contains("the log ends at seq \(head - 3)"), "\(message)")
    #expect(message.contains("events \(head - 2) to \(head) were deleted"), "\(message)")
    // A reader may still look (investigation).
    let reader = try Ledger.openReadOnly(path: f.directory.path)
    #expect(try reader.head().seq == head - 3)
    reader.close()
    f.ledger = try Ledger.openReadOnly(path: f.directory.path)
}

/// seq 25 gets another owner; its hash and every later one are sealed again, so the
/// hash chain is intact.
func rewriteRecord25(_ path: String, head: UInt64) throws {
    try tamper(path) { txn, events in
        var prev = Digest.zero
        for seq in 1...head {
            guard let value = try txn.get(events, seqKey(seq)) else { continue }
            var record = Array(value.dropLast(ChainedRecord.trailerSize))
            if seq == 25 {
                var event = try record.withUnsafeBytes { try EventCodec.decode($0, seq: seq) }
                event.owner = "org_forged"
                record = EventCodec.encode(event)
            }
            let sealed = ChainedRecord.seal(record, after: prev)
            prev = sealed.hash
            if seq >= 25 { try txn.put(events, seqKey(seq), sealed.value) }
        }
    }
}

@Test func aRecordRewrittenWithEveryLaterHashRecomputedIsNamedByTheTree() throws {
    let f = try LedgerFixture()
    let head = try checkpointedLedger(f, events: 40, checkpointsAt: [10, 20, 30])
    try rewriteRecord25(f.directory.path, head: head)
    let message = try #require(refusal(f.directory.path, clock: f.clock))
    #expect(message.contains("the record at seq 25 was changed"), "\(message)")
    f.ledger = try Ledger.openReadOnly(path: f.directory.path)
    #expect(try f.ledger.verifyChain().isIntact)
}

/// The leaves were checked at an earlier open, and a replay rebuilds the tree from the
/// forged log: the signed checkpoints catch it.
@Test func aRewrittenLogWithARebuiltTreeIsCaughtByTheCheckpoints() throws {
    let f = try LedgerFixture()
    let head = try checkpointedLedger(f, events: 40, checkpointsAt: [10, 20, 30])
    #expect(refusal(f.directory.path, clock: f.clock) == nil)
    try rewriteRecord25(f.directory.path, head: head)
    // The forger also erases the chain check's verified point, which would otherwise
    // refuse the writable open that rebuilds the tree.
    try tamper(f.directory.path) { txn, _ in
        _ = try txn.delete(
            f.ledger.environment.table(LedgerSchema.metaSpec.name), Array("chain-verified".utf8))
    }
    f.ledger = try LedgerFixture.open(f.directory.path, clock: f.clock)
    try f.ledger.replay()
    f.ledger.close()
    let message = try #require(refusal(f.directory.path, clock: f.clock))
    #expect(message.contains("newest checkpoint (size \(head))"), "\(message)")
    #expect(message.contains("between seq 21 and seq \(head)"), "\(message)")
    f.ledger = try Ledger.openReadOnly(path: f.directory.path)
}

@Test func aRecordChangedAfterItWasFoldedIsNamedAtTheNextOpen() throws {
    let f = try LedgerFixture()
    try f.reopen()
    let (_, secret) = try f.create()
    for _ in 0..<20 { _ = try f.verify(secret) }
    f.ledger.close()
    try tamper(f.directory.path) { txn, events in
        var value = try #require(try txn.get(events, seqKey(7)))
        value[value.count - ChainedRecord.trailerSize - 1] ^= 1
        try txn.put(events, seqKey(7), value)
    }
    let message = try #require(refusal(f.directory.path, clock: f.clock))
    // The chain check at open sees it first now; either check names seq 7.
    #expect(
        message.contains("the record at seq 7 was changed") || message.contains("broken at seq 7"), "\(message)")
    f.ledger = try Ledger.openReadOnly(path: f.directory.path)
}

@Test func aCheckpointSignedByAnotherKeyIsRefused() throws {
    let f = try LedgerFixture()
    let head = try checkpointedLedger(f, events: 10, checkpointsAt: [])
    let other = NoteSigner(name: "keyledger/forged", key: try #require(Ed25519PrivateKey.generate()))
    let forged = try #require(
        other.sign(body: "keyledger/forged\n\(head)\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"))
    try tamper(f.directory.path) { txn, _ in
        try txn.put(
            f.ledger.environment.table(LedgerSchema.treeCheckpointsSpec.name), seqKey(head + 5), Array(forged.utf8))
    }
    let message = try #require(refusal(f.directory.path, clock: f.clock))
    #expect(message.contains("size \(head + 5)) does not verify with the ledger's key"), "\(message)")
    f.ledger = try Ledger.openReadOnly(path: f.directory.path)
}

/// The tree is a projection: one that cannot be read is rebuilt at open, then checked
/// against the checkpoints like any.
@Test func anUnreadableTreeIsRebuiltAtOpen() throws {
    let f = try LedgerFixture()
    let head = try checkpointedLedger(f, events: 600, checkpointsAt: [300])
    let before = try Ledger.openReadOnly(path: f.directory.path)
    let root = try before.treeHead().root
    before.close()
    do {
        let environment = try Environment(
            path: f.directory.path + "/" + LedgerSchema.projectionsDirectory, tables: LedgerSchema.projectionTableSpecs)
        let tables = MerkleTreeProjection.tableSpecs.map { environment.table($0.name) }
        try environment.write { txn in for table in tables { try txn.clear(table) } }
    }
    f.ledger = try LedgerFixture.open(f.directory.path, clock: f.clock)
    #expect(try f.ledger.treeHead() == TreeHead(size: head, root: root))
}
