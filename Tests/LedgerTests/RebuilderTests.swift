import Events
import Ledger
import Projections
import Store
import Testing

private struct Aborted: Error {}

/// The log's records in seq order, as a rebuild reads them.
private func records(_ environment: Environment) throws -> [(seq: UInt64, record: [UInt8])] {
    try environment.read { txn in
        var records: [(UInt64, [UInt8])] = []
        try txn.withCursor(environment.table("events")) { cursor in
            var entry = try cursor.first()
            while let e = entry {
                let seq = UInt64(bigEndian: e.key.loadUnaligned(as: UInt64.self))
                records.append((seq, Array(try ChainedRecord.split(e.value).record)))
                entry = try cursor.next()
            }
        }
        return records
    }
}

/// A rebuild writes each piece of the log into a transaction it keeps open; when the map
/// fills, the transaction is aborted and the rebuilder rewound, and one write must then put
/// back everything since the last commit. Each projection's rebuilder is driven through
/// a commit, an aborted transaction that held several pieces (the last write closing it),
/// the retry, and the rest of the log: its tables must equal what the writer built.
@Test(arguments: [4, 5])
func aRebuilderWritesAgainWhatAnAbortedTransactionHeld(seed: UInt64) throws {
    let f = try LedgerFixture()
    try runRandomCommands(f, seed: seed)
    let expected = try f.projectionDump()
    let environment = f.ledger.projectionEnvironment
    let log = try records(f.ledger.environment)
    let projections: [any Projection] = [
        KeyStateProjection(environment: environment), AuditIndexProjection(environment: environment),
        UsageProjection(environment: environment),
    ]
    for projection in projections {
        try environment.write { txn in for table in projection.tables { try txn.clear(table) } }
        var rebuilder = projection.makeRebuilder()
        var decoder = ChunkDecoder(context: .actorAndIP)
        // Ten pieces: one transaction of two; one of three, aborted after its closing
        // write, then written again; one of five, the end of the log.
        let size = (log.count + 9) / 10
        var next = 0
        func foldPiece() throws {
            for (seq, record) in log[next..<min(next + size, log.count)] {
                try record.withUnsafeBytes { try decoder.add($0, seq: seq) }
            }
            next = min(next + size, log.count)
            var chunk = decoder.take()
            chunk.endsLog = next == log.count
            rebuilder.fold(chunk)
        }
        try environment.write { txn in
            try foldPiece()
            try rebuilder.write(into: txn, .folded)
            try foldPiece()
            try rebuilder.write(into: txn, .closing)
        }
        rebuilder.committed()
        #expect(throws: Aborted.self) {
            try environment.write { txn in
                for piece in 0..<3 {
                    try foldPiece()
                    try rebuilder.write(into: txn, piece == 2 ? .closing : .folded)
                }
                throw Aborted()
            }
        }
        try environment.write { txn in
            rebuilder.rewind()
            try rebuilder.write(into: txn, .closing)
        }
        rebuilder.committed()
        // The rest in one transaction, written after each piece as a rebuild may: folded,
        // idle (while the next piece is on its way), or closing (as when a transaction run
        // again after a full map has nothing left to fold), and closing at the end.
        try environment.write { txn in
            var pieces = 0
            while next < log.count {
                try foldPiece()
                pieces += 1
                let occasions: [WriteOccasion] = [.folded, .idle, .closing]
                try rebuilder.write(into: txn, next == log.count ? .closing : occasions[pieces % 3])
            }
        }
        rebuilder.committed()
        let rebuilt = try f.projectionDump()
        for table in projection.tables {
            #expect(rebuilt[table.name] == expected[table.name], "\(projection.name): table \(table.name)")
        }
    }
}

/// A record that does not decode stops a replay with an error naming it, whichever stage
/// is ahead of the writes when it is met, and leaves every projection at its last commit
/// (a second replay meets it again; nothing hangs or traps).
@Test func anUndecodableRecordStopsAReplayWithAnError() throws {
    let f = try LedgerFixture()
    let (_, secret) = try f.create()
    for _ in 0..<1_999 { _ = try f.verify(secret) }
    let events = f.ledger.environment.table("events")
    try f.ledger.environment.write { txn in
        let key = withUnsafeBytes(of: UInt64(1_500).bigEndian) { Array($0) }
        var value = try #require(try txn.get(events, key))
        value[1] = 0xEE  // the event type
        try txn.put(events, key, value)
    }
    for _ in 0..<2 {
        do {
            try f.ledger.replay(transactionEvents: 400)
            Issue.record("the replay went through an undecodable record")
        } catch {
            #expect("\(error)".contains("unknown event type 238"))
        }
        // Committed every 400 events up to the record: the checkpoints are before it, and
        // those of key state and audit at 1,200 or beyond (usage holds its open hour back:
        // every access here is of one hour).
        let checkpoints = try f.ledger.projectionCheckpoints()
        #expect(checkpoints.values.allSatisfy { $0 < 1_500 }, "\(checkpoints)")
        #expect(try #require(checkpoints["keys"]) >= 1_200 && (try #require(checkpoints["audit"])) >= 1_200)
    }
    #expect(try f.ledger.verifyChain().firstBadSeq == 1_500)
}
