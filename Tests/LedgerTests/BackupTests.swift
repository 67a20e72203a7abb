import Dispatch
import Events
import Glibc
import Ledger
import Synchronization
import Testing

/// A backup taken while verifications commit is a ledger of its own: its chain is intact,
/// it holds a prefix of the log at least as long as what was acknowledged before the backup
/// began, and its projections are what a replay of that prefix builds.
@Test(arguments: [true, false])
func aBackupTakenUnderLoadIsAConsistentLedger(compact: Bool) throws {
    let f = try LedgerFixture()
    let (_, secret) = try f.create()
    for _ in 0..<200 { _ = try f.verify(secret) }
    let acknowledged = try f.ledger.head().seq
    // Verifications keep committing on another thread while the copy is written.
    let stop = Atomic(false)
    let ledger = f.ledger
    let load = DispatchGroup()
    DispatchQueue.global().async(group: load) {
        while !stop.load(ordering: .relaxed) {
            _ = try? wait { done in
                ledger.verify(secret: secret, VerifyRequest(), context: rootContext, completion: done)
            }
        }
    }
    // The copy starts once the load is committing.
    while try f.ledger.head().seq == acknowledged { usleep(1000) }
    let target = f.directory.path + "/backup"
    let head = try f.ledger.backup(to: target, compact: compact)
    stop.store(true, ordering: .relaxed)
    load.wait()

    #expect(head.seq > acknowledged)
    for file in ["data.mdb", "lock.mdb"] {
        var st = stat()
        #expect(stat(target + "/" + file, &st) == 0)
        #expect(st.st_mode & 0o077 == 0, "\(file) is readable by others")
    }
    var options = LedgerOptions()
    options.sweepInterval = nil
    let copy = try Ledger(path: target, options: options)
    defer { copy.close() }
    let report = try copy.verifyChain()
    #expect(report.firstBadSeq == nil)
    #expect(report.events == head.seq)
    let projections = try dumpProjections(copy)
    try copy.replay()
    #expect(try dumpProjections(copy) == projections)
    // A second backup into the same place is refused and leaves the first alone.
    #expect(throws: LedgerError.self) { _ = try f.ledger.backup(to: target) }
    #expect(try copy.verifyChain().events == head.seq)
}

/// `keyledger backup` through the binary: the copy's head is printed and matches what
/// `verify-chain` finds in it; a missing --to is a usage error (exit 2), and a target that
/// already holds a ledger is refused (exit 1) with a message.
@Test func theBackupCommandCopiesAndRefusesToOverwrite() throws {
    let dir = TempDirectory()
    defer { dir.remove() }
    #expect(try runKeyledger(["init", "--data", dir.path + "/ledger"]).status == 0)
    let missing = try runKeyledger(["backup", "--data", dir.path + "/ledger"])
    #expect(missing.status == 2 && missing.err.contains("--to DIR is required"))
    let made = try runKeyledger(["backup", "--data", dir.path + "/ledger", "--to", dir.path + "/copy"])
    #expect(made.status == 0, "\(made.err)")
    let chain = try runKeyledger(["verify-chain", "--data", dir.path + "/copy"])
    #expect(chain.status == 0)
    // "backup: 0 events, head <hash>, ..." and "chain intact: 0 events, head <hash>"
    let head = { (line: String) -> String? in
        line.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\n" }).drop { $0 != "head" }.dropFirst().first
            .map(String.init)
    }
    #expect(head(made.out)?.count == 64)
    #expect(head(made.out) == head(chain.out))
    let again = try runKeyledger(["backup", "--data", dir.path + "/ledger", "--to", dir.path + "/copy"])
    #expect(again.status == 1 && again.err.contains("already holds a ledger"))
}
