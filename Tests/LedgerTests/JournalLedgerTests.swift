import Events
import Foundation
import Glibc
@testable import Ledger
import Projections
import Store
import Synchronization
import Testing

/// A digest of `text`, for claims in tests.
private func digest(_ text: String) -> Digest {
    Array(text.utf8).withUnsafeBytes { Digest.sha256($0) }
}

/// An idempotent command's answer is kept from the moment it is acknowledged: while its
/// batch is durable in the journal and the log's readers do not see it yet, a retry finds
/// the kept answer (and so gets the first answer, not a second effect).
@Test func aKeptAnswerIsFoundBeforeTheLogsReadersSeeIt() throws {
    var options = LedgerOptions()
    options.journalMillis = 400
    let f = try LedgerFixture(options: options)
    var context = rootContext
    let claim = IdempotencyClaim(key: digest("principal+key-1"), fingerprint: digest("POST /v1/keys {}"))
    context.idempotency = claim
    let (key, _) = try wait { done in
        f.ledger.createKey(KeySpec(owner: "org_1", name: "once"), context: context, completion: done)
    }
    let seq = try f.ledger.committedSeq()
    // Acknowledged and durable, not yet readable from the log.
    #expect(try f.ledger.event(at: seq) == nil, "the generation committed at once: nothing to check")
    let kept = try #require(try f.ledger.idempotentAnswer(claim.key))
    #expect(kept.fingerprint == claim.fingerprint && kept.key?.id == key.id && kept.seq == seq)
    // Once the log's readers see it, it is read from the log.
    try f.ledger.awaitLog()
    #expect(try f.ledger.event(at: seq) != nil)
    #expect(try f.ledger.idempotentAnswer(claim.key)?.seq == seq)
}

/// A ledger's options on a small device: a 256 KiB journal kept however little room is
/// left, and no sweeps.
private func smallDeviceOptions() -> LedgerOptions {
    var options = LedgerOptions()
    options.sweepInterval = nil
    options.journalBytes = 256 << 10
    options.journalMinimumFreeBytes = 0
    return options
}

/// A key of `credits` credits, created and folded into the projections.
private func createMetered(_ ledger: Ledger, credits: Int64) throws -> (KeyState, String) {
    var spec = KeySpec(owner: "org_1", name: "metered")
    spec.credits = credits
    let created = try wait { done in ledger.createKey(spec, context: rootContext, completion: done) }
    try ledger.awaitProjections()
    return created
}

/// After verifications of `secret` (a key of `credits`) of which `granted` were
/// acknowledged and the rest refused, with room on the device again: one more is granted,
/// the log holds exactly the acknowledged ones and it, the decision state is what a fold of
/// the log gives, and so again after a restart. Closes `ledger` (also when it throws) and
/// returns the ledger opened again, for the caller to close.
private func expectGrantedKept(
    _ ledger: Ledger, at path: String, _ key: KeyID, _ secret: String, credits: Int64, granted: Int64,
    options: LedgerOptions, sourceLocation: SourceLocation = #_sourceLocation
) throws -> Ledger {
    let head: UInt64
    do {
        let after = try wait { done in ledger.verify(secret: secret, VerifyRequest(), context: rootContext, completion: done) }
        #expect(after.isValid, sourceLocation: sourceLocation)
        #expect(after.key?.credits == credits - granted - 1, sourceLocation: sourceLocation)
        try ledger.awaitLog()
        let accesses = try ledger.events(after: 0, limit: .max).filter { stored in
            if case .accessed(let a) = stored.event.payload { return a.code == .valid && stored.event.keyID == key }
            return false
        }
        #expect(accesses.count == Int(granted) + 1, sourceLocation: sourceLocation)
        try ledger.awaitProjections()
        try expectDecisionsEqualAFold(ledger, "after refused batches", sourceLocation: sourceLocation)
        head = try ledger.head().seq
    } catch {
        ledger.close()
        throw error
    }
    ledger.close()
    let reopened = try Ledger(path: path, options: options)
    do {
        #expect(try reopened.head().seq == head, sourceLocation: sourceLocation)
        #expect(try reopened.verifyChain().isIntact, sourceLocation: sourceLocation)
        try expectDecisionsEqualAFold(reopened, "after a restart", sourceLocation: sourceLocation)
    } catch {
        reopened.close()
        throw error
    }
    return reopened
}

/// With a journal on a device that fills up: verifications acknowledged from the journal
/// while LMDB cannot commit stay acknowledged (the generation commits once there is room),
/// later ones are refused and change nothing, and the credits left are those of the
/// acknowledged verifications alone, as a fold of the log gives them, after a restart too.
@Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
func aFullDiskUnderTheJournalKeepsEveryAcknowledgedVerification() throws {
    guard let disk = SmallDisk() else { return }
    defer { disk.remove() }
    let options = smallDeviceOptions()
    var ledger = try Ledger(path: disk.path, options: options)
    var closed = false
    defer { if !closed { ledger.close() } }
    #expect(access(disk.path + "/journal", F_OK) == 0, "no journal was made")
    let credits: Int64 = 1_000_000
    let (key, secret) = try createMetered(ledger, credits: credits)

    let filler = disk.fill()
    let (granted, refused) = try verifyUntilRefused(ledger, secret, tries: 5_000)
    #expect(refused == 3, "the full device refused no batch")
    #expect(granted > 0, "nothing was acknowledged from the journal on the full device")

    unlink(filler)
    closed = true
    ledger = try expectGrantedKept(
        ledger, at: disk.path, key.id, secret, credits: credits, granted: granted, options: options)
    closed = false
}

/// A clean stop commits the open generation: the log's file holds every acknowledged
/// event and the journal has nothing left to apply.
@Test func aCleanStopLeavesNothingInTheJournal() throws {
    let directory = TempDirectory()
    defer { directory.remove() }
    var options = LedgerOptions()
    options.sweepInterval = nil
    options.journalMillis = 1000
    let ledger = try Ledger(path: directory.path, options: options)
    _ = try wait { done in ledger.createKey(KeySpec(owner: "org_1", name: "k"), context: rootContext, completion: done) }
    let acknowledged = try ledger.committedSeq()
    ledger.close()
    var readOnly = EnvironmentOptions()
    readOnly.readOnly = true
    let log = try Environment(path: directory.path, tables: LedgerSchema.tableSpecs, options: readOnly)
    #expect(
        JournaledWriter.pendingFrames(
            log, directory: directory.path, state: log.table(LedgerSchema.metaSpec.name),
            key: LedgerSchema.journalGenerationKey) == 0)
    #expect(try log.read { txn in try EventLog(environment: log).head(in: txn).seq } == acknowledged)
}

/// The descriptor this process has open on `path` (its first, by number).
private func descriptor(of path: String) -> Int32? {
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    for name in fds.compactMap({ Int32($0) }).sorted() {
        if (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(name)")) == path { return name }
    }
    return nil
}

/// A journal that cannot be written (its descriptor swapped for a read-only one of the
/// same file: every frame's write fails) loses nothing and refuses nothing: each batch the
/// journal refuses is made durable by the log's commit instead. Verifications come from 8
/// threads at once, so batches hold several. Every acknowledged verification is in the log
/// and the credits are what a fold of it gives, after a restart too. (A device too full
/// for the log's commit as well is aFullDiskUnderTheJournalKeepsEveryAcknowledgedVerification's.)
@Test
func aJournalThatCannotBeWrittenFallsBackToTheLogsCommit() throws {
    let disk = TempDirectory()
    defer { disk.remove() }
    let options = smallDeviceOptions()
    var ledger = try Ledger(path: disk.path, options: options)
    var closed = false
    defer { if !closed { ledger.close() } }
    let credits: Int64 = 1_000_000
    let (key, secret) = try createMetered(ledger, credits: credits)

    let journalPath = disk.path + "/" + Journal.fileName
    let fd = try #require(descriptor(of: journalPath), "the journal is not open")
    let saved = dup(fd)
    let readOnly = open(journalPath, O_RDONLY | O_CLOEXEC)
    #expect(saved >= 0 && readOnly >= 0 && dup2(readOnly, fd) == fd)
    close(readOnly)
    // The journal refuses every frame; the log's commits take the batches.
    let totals = Mutex<(granted: Int64, refused: Int)>((0, 0))
    let shared = ledger
    DispatchQueue.concurrentPerform(iterations: 8) { _ in
        let (granted, refused) = (try? verifyUntilRefused(shared, secret, tries: 100)) ?? (0, 0)
        totals.withLock { $0 = ($0.granted + granted, $0.refused + refused) }
    }
    let (granted, refused) = totals.withLock { $0 }
    #expect(refused == 0 && granted == 800, "\(granted) granted, \(refused) refused")
    #expect(dup2(saved, fd) == fd)
    close(saved)
    closed = true
    ledger = try expectGrantedKept(ledger, at: disk.path, key.id, secret, credits: credits, granted: granted, options: options)
    closed = false
}
