import Events
import Glibc
import Ledger
import Projections
import Rendering
import Store

/// `keyledger bench-proofs`: the provable-audit figures of a ledger.
enum BenchProofsCommand: CLICommand {
    static let name = "bench-proofs"
    static let summary = "time inclusion proofs, checkpoints and exports; the tree's bytes per event"
    static let about = """
        On an existing ledger (e.g. one made by keyledger generate), prints the bytes the stored
        Merkle tree takes per event (its LMDB pages), then the median and p95 of --runs runs of:
        an inclusion proof of a random event in the current tree; a consistency proof from a
        random size; a signed checkpoint of the current tree; and the events per second of an
        export with proofs of the busiest owner of the last 10,000 events. Read-only; safe while
        a server runs.
        """

    static let options: [Option] = [.data, .number("runs", default: 1000, "runs of each measurement")]

    static func run(_ args: [String]) throws -> Int32 {
        let parsed = try parse(args)
        let runs = try parsed.integer("runs")
        let ledger = try Ledger.openReadOnly(path: try parsed.dataDirectory())
        let head = try ledger.treeHead()
        guard head.size > 1 else { throw UsageError("the ledger is empty: run keyledger generate first") }
        let bytes = try ledger.projectionEnvironment.read { txn in
            try MerkleTreeProjection.tableSpecs.reduce(0) { sum, spec in
                sum + (try txn.storedBytes(ledger.projectionEnvironment.table(spec.name)))
            }
        }
        print(
            "tree: \(head.size) events, \(bytes) bytes stored, \(fixed(Double(bytes) / Double(head.size), 1)) bytes/event"
        )
        var random = SystemRandom()
        try BenchQueriesCommand.time("inclusion_proof", runs) {
            _ = try ledger.inclusionProof(seq: 1 + random.next() % head.size, size: head.size)
        }
        try BenchQueriesCommand.time("consistency_proof", runs) {
            _ = try ledger.consistencyProof(from: 1 + random.next() % head.size, to: head.size)
        }
        let checkpoints = try TreeCheckpoints(ledger: ledger)
        try BenchQueriesCommand.time("checkpoint_signed", runs) { _ = try checkpoints.current() }
        var owners: [String: Int] = [:]
        for stored in try ledger.events(after: head.size > 10_000 ? head.size - 10_000 : 0, limit: 10_000) {
            owners[stored.event.owner, default: 0] += 1
        }
        guard let owner = owners.max(by: { $0.value < $1.value })?.key else { return 1 }
        var lines = 0
        let start = ContinuousClock.now
        try AuditExport.write(
            ledger, checkpoints: checkpoints, filter: AuditFilter(owner: owner), start: nil, end: nil
        ) { _ in lines += 1 }
        let elapsed = seconds(since: start)
        print(
            "export_with_proofs: \(lines - 1) events of \(owner) in \(fixed(elapsed, 2)) s, \(Int(Double(lines - 1) / elapsed)) events/s"
        )
        return 0
    }
}
