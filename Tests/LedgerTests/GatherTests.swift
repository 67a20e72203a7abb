import Dispatch
import Foundation
import Events
@testable import Ledger
import Synchronization
import Testing

/// Verifications of `secret` submitted at once, not waited for; `done` is left once per answer.
private func submit(_ count: Int, _ secret: String, _ ledger: Ledger, _ done: DispatchGroup) {
    for _ in 0..<count {
        done.enter()
        ledger.verify(secret: secret, VerifyRequest(), context: rootContext) { _ in done.leave() }
    }
}

/// The commands of each synced write of the journal since `after` (a count of writes
/// before), once they add up to `commands` (or 10 s passed): from the metrics' histogram,
/// so each write's size is the sum's step between two counts.
private final class Writes: Sendable {
    private let metrics: LedgerMetrics
    private let seen = Mutex<(count: UInt64, sum: Double)>((0, 0))

    init(_ ledger: Ledger) {
        metrics = ledger.metrics
        mark()
    }

    /// Forgets the writes so far.
    func mark() {
        let h = metrics.snapshot.journalWriteCommands
        seen.withLock { $0 = (h.count, h.sum) }
    }

    /// The number of writes and the commands they held since the mark, once they hold `commands`.
    func since(holding commands: Int) -> (writes: Int, commands: Int) {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let h = metrics.snapshot.journalWriteCommands
            let (count, sum) = seen.withLock { $0 }
            let now = (writes: Int(h.count - count), commands: Int(h.sum - sum))
            if now.commands >= commands || ContinuousClock.now >= deadline { return now }
            Thread.sleep(forTimeInterval: 0.001)
        }
    }
}

/// The writer's last batch held 8 commands, and so did the journal's last write: queued
/// while a chore holds the writer.
private func batchOfEight(_ ledger: Ledger, _ secret: String) throws {
    let writer = try #require(ledger.writer)
    let held = DispatchSemaphore(value: 0)
    let holding = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
        writer.onWriterThread { _ in
            holding.signal()
            held.wait()
        }
    }
    holding.wait()
    let done = DispatchGroup()
    submit(8, secret, ledger, done)
    held.signal()
    done.wait()
}

/// A synced write of fewer commands than the journal's last one waits, for at most
/// `gatherMicros`, until the batches decided meanwhile hold as many: one write then covers
/// them all. A lone caller, whose last write held one command, never waits.
@Test func aSmallWriteWaitsForItsPeersAndALoneCallerDoesNot() throws {
    var options = LedgerOptions()
    options.gatherMicros = 2_000_000
    // No generation commit meanwhile: it ends a gather (the commit makes the batches durable).
    options.journalMillis = 60_000
    let f = try LedgerFixture(options: options)
    let (_, secret) = try f.create()
    let writes = Writes(f.ledger)

    // One caller after another: no wait, or the three would take the gather's 2 s each.
    let started = ContinuousClock.now
    for _ in 0..<3 { _ = try f.verify(secret) }
    #expect(ContinuousClock.now - started < .seconds(2))
    #expect(writes.since(holding: 3) == (3, 3))

    // Eight queued while the writer is held: one write of 8.
    writes.mark()
    try batchOfEight(f.ledger, secret)
    #expect(writes.since(holding: 8) == (1, 8))
    writes.mark()
    let done = DispatchGroup()

    // Three, then five 50 ms later: the three's write waits for the five, one write of 8 again.
    submit(3, secret, f.ledger, done)
    Thread.sleep(forTimeInterval: 0.05)
    submit(5, secret, f.ledger, done)
    done.wait()
    #expect(writes.since(holding: 8) == (1, 8))

    // Two: the gather ends at its deadline, and they are one write of 2.
    writes.mark()
    let waited = ContinuousClock.now
    submit(2, secret, f.ledger, done)
    done.wait()
    #expect(ContinuousClock.now - waited >= .seconds(1.9))
    #expect(writes.since(holding: 2) == (1, 2))
}

/// A close while the syncer gathers ends the wait: the command is made durable and
/// answered at once, not at the gather's deadline.
@Test func aCloseEndsAGather() throws {
    let directory = TempDirectory()
    defer { directory.remove() }
    var options = LedgerOptions()
    options.gatherMicros = 10_000_000
    let ledger = try LedgerFixture.open(directory.path, clock: ManualClock(), options: options)
    let (_, secret) = try wait { done in
        ledger.createKey(KeySpec(owner: "org_42", name: "gather"), context: rootContext, completion: done)
    }
    try batchOfEight(ledger, secret)
    let done = DispatchGroup()
    let answered = Mutex<VerifyCode?>(nil)
    done.enter()
    ledger.verify(secret: secret, VerifyRequest(), context: rootContext) { result in
        answered.withLock { $0 = try? result.get().code }
        done.leave()
    }
    Thread.sleep(forTimeInterval: 0.05)
    let closing = ContinuousClock.now
    ledger.close()
    done.wait()
    #expect(ContinuousClock.now - closing < .seconds(5))
    #expect(answered.withLock { $0 } == .valid)
}

/// A reader waiting for an acknowledged event (the log's, or the projections' through
/// `minSeq`) has the writer commit its open generation now, not at `journalMillis`.
@Test func aWaitingReaderHurriesTheLogsCommit() throws {
    var options = LedgerOptions()
    options.journalMillis = 60_000
    let f = try LedgerFixture(options: options)
    let (_, secret) = try f.create()
    for reader in ["log", "projections"] {
        let ledger = f.ledger
        let seq = try wait { done in
            ledger.verify(secret: secret, VerifyRequest(), context: rootContext) { _ in
                done(.success(ledger.seqOfAnswer ?? 0))
            }
        }
        #expect(seq > 0)
        let started = ContinuousClock.now
        if reader == "log" { try f.ledger.awaitLog(upTo: seq) } else { try f.ledger.awaitProjections(upTo: seq) }
        #expect(ContinuousClock.now - started < .seconds(10), "\(reader)")
        #expect(try f.ledger.head().seq >= seq, "\(reader)")
    }
}
