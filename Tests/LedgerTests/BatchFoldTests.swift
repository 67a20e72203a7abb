import Events
@testable import Ledger
import Projections
import Store
import Testing

/// The live projector folds each round through ``Projection/apply(contentsOf:in:)``:
/// for every projection, folding a ledger's log in runs of any size writes the rows
/// folding it one event at a time writes, byte for byte.
@Test(arguments: [1, 2] as [UInt64])
func foldingInRunsWritesWhatFoldingEventByEventWrites(seed: UInt64) throws {
    let f = try LedgerFixture()
    try runRandomCommands(f, seed: seed)
    let events = try (1...f.headSeq).compactMap { try f.ledger.event(at: $0)?.event }
    #expect(events.count == Int(f.headSeq))
    let single = try FoldTarget(log: f.ledger.environment)
    defer { single.directory.remove() }
    for event in events {
        try single.environment.write { txn in
            for projection in single.projections { try projection.apply(event, in: txn) }
        }
    }
    let expected = try single.dump()
    #expect(expected["usage_by_minute"]?.isEmpty == false && expected["audit_postings"]?.isEmpty == false)
    // Runs of one, of a few, of about a live round and of everything: rows that the run
    // creates, rows that it finds (a run after the first) and posting blocks that fill.
    var rng = SplitMix64(seed: seed)
    for runs in [[1], [2, 5, 13], [80, 700, 1_000], [events.count]] {
        let batched = try FoldTarget(log: f.ledger.environment)
        defer { batched.directory.remove() }
        var start = 0
        var turn = 0
        while start < events.count {
            let end = min(events.count, start + runs[turn % runs.count] + Int(rng.next() % 3))
            try batched.environment.write { txn in
                for projection in batched.projections {
                    try projection.apply(contentsOf: events[start..<end], in: txn)
                }
            }
            start = end
            turn += 1
        }
        let dump = try batched.dump()
        for (table, rows) in expected {
            // Compared apart from the expectation: a difference prints counts, not rows.
            let same = dump[table] == rows
            #expect(same, "\(table), runs of \(runs): \(dump[table]?.count ?? 0) rows, \(rows.count) expected")
        }
    }
}

/// A fresh projections environment and every projection of it but the key state
/// (which the projector folds through its own cache).
private struct FoldTarget {
    let directory = TempDirectory()
    let environment: Environment
    let projections: [any Projection]

    init(log: Environment) throws {
        environment = try Environment(path: directory.path, tables: LedgerSchema.projectionTableSpecs)
        projections = LedgerSchema.projections(environment, log: log).others
    }

    func dump() throws -> [String: [[UInt8]]] {
        try environment.read { txn in
            var dump: [String: [[UInt8]]] = [:]
            for projection in projections {
                for table in projection.tables {
                    var rows: [[UInt8]] = []
                    try txn.withCursor(table) { cursor in
                        var entry = try cursor.first()
                        while let e = entry {
                            rows.append(Array(e.key) + [0xFF] + Array(e.value))
                            entry = try cursor.next()
                        }
                    }
                    dump[table.name] = rows
                }
            }
            return dump
        }
    }
}

/// The tree's fold in runs puts the tiles a run completes whole (its hashes never on the
/// edge): 70,000 leaves in runs of every kind (one tile's worth and more, runs that end
/// inside a tile and that complete level-1 tiles) leave the rows the fold one leaf at a
/// time leaves.
@Test(arguments: [[1, 255, 256, 257], [9_973], [70_000], [300, 65_536]])
func theTreeFoldedInRunsEqualsTheTreeFoldedLeafByLeaf(runs: [Int]) throws {
    let count = 70_000
    let single = try StoredTreeFixture(count: count)
    defer { single.directory.remove() }
    let batched = try StoredTreeFixture(count: count, fold: false)
    defer { batched.directory.remove() }
    let id = KeyID(high: 7, low: 9)
    let events = (1...count).map { seq in
        Event(
            seq: UInt64(seq), time: 0, keyID: id, owner: "", actor: Actor(kind: .system, id: ""), ip: nil,
            requestID: nil, payload: .expired)
    }
    var start = 0
    var turn = 0
    while start < count {
        let end = min(count, start + runs[turn % runs.count])
        try batched.environment.write { txn in try batched.tree.apply(contentsOf: events[start..<end], in: txn) }
        start = end
        turn += 1
    }
    let same = try batched.dump() == single.dump()
    #expect(same)
}

/// The projector hashes a round's leaves as it reads the records and hands them to the
/// tree: filing those hashes leaves the rows the tree's own fold, which reads the
/// records itself, leaves.
@Test(arguments: [[1, 255, 256, 257], [300, 4_000]])
func theTreeFedItsLeavesEqualsTheTreeReadingTheLog(runs: [Int]) throws {
    let count = 9_000
    let single = try StoredTreeFixture(count: count)
    defer { single.directory.remove() }
    let fed = try StoredTreeFixture(count: count, fold: false)
    defer { fed.directory.remove() }
    let id = KeyID(high: 7, low: 9)
    let events = (1...count).map { seq in
        Event(
            seq: UInt64(seq), time: 0, keyID: id, owner: "", actor: Actor(kind: .system, id: ""), ip: nil,
            requestID: nil, payload: .expired)
    }
    let leaves = fed.records.map { record in record.withUnsafeBytes { MerkleHash.leaf($0) } }
    var start = 0
    var turn = 0
    while start < count {
        let end = min(count, start + runs[turn % runs.count])
        try fed.environment.write { txn in
            try fed.tree.apply(leaves: leaves[start..<end], of: events[start..<end], in: txn)
        }
        start = end
        turn += 1
    }
    let same = try fed.dump() == single.dump()
    #expect(same)
}
