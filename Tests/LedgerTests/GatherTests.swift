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

/// Waits until the batches the observer saw hold `commands` in all (the observer runs after
/// a batch's answers).
private func settle(_ sizes: borrowing Mutex<[Int]>, _ commands: Int) {
    let deadline = ContinuousClock.now + .seconds(10)
    while sizes.withLock({ $0.reduce(0, +) }) < commands, ContinuousClock.now < deadline {
        Thread.sleep(forTimeInterval: 0.001)
    }
}

/// Holds the writer (its thread, or the loop it is attached to) in a chore until the
/// returned semaphore is signalled: commands queued meanwhile wait for it together.
func holdWriter(_ writer: Writer) throws -> DispatchSemaphore {
    let holding = DispatchSemaphore(value: 0)
    let release = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
        writer.onWriterThread { _ in
            holding.signal()
            release.wait()
        }
    }
    try #require(holding.wait(timeout: .now() + 5) == .success, "the writer was not held within 5 s")
    return release
}

/// The writer's last batch held 8 commands: queued while a chore holds the writer.
private func batchOfEight(_ ledger: Ledger, _ secret: String) throws {
    let held = try holdWriter(try #require(ledger.writer))
    let done = DispatchGroup()
    submit(8, secret, ledger, done)
    held.signal()
    done.wait()
}

/// A batch smaller than the writer's last one waits, for at most `gatherMicros`, until as many
/// commands are queued: one synced write then covers them all. A lone caller, whose last batch
/// held one command, never waits.
@Test func aSmallBatchWaitsForItsPeersAndALoneCallerDoesNot() throws {
    let sizes = Mutex<[Int]>([])
    var options = LedgerOptions()
    options.gatherMicros = 2_000_000
    options.onCommit = { _, size, _ in sizes.withLock { $0.append(size) } }
    let f = try LedgerFixture(options: options)
    let (_, secret) = try f.create()

    // One caller after another: no wait, or the three would take the gather's 2 s each.
    let started = ContinuousClock.now
    for _ in 0..<3 { _ = try f.verify(secret) }
    #expect(ContinuousClock.now - started < .seconds(2))

    // Eight queued while the writer is held: one batch of 8.
    sizes.withLock { $0.removeAll() }
    try batchOfEight(f.ledger, secret)
    settle(sizes, 8)
    #expect(sizes.withLock { $0 } == [8])
    sizes.withLock { $0.removeAll() }
    let done = DispatchGroup()

    // Three, then five 50 ms later: the three wait for the five, one batch of 8 again.
    submit(3, secret, f.ledger, done)
    Thread.sleep(forTimeInterval: 0.05)
    submit(5, secret, f.ledger, done)
    done.wait()
    settle(sizes, 8)
    #expect(sizes.withLock { $0 } == [8])

    // Two: the gather ends at its deadline, and they are one batch of 2.
    let waited = ContinuousClock.now
    submit(2, secret, f.ledger, done)
    done.wait()
    #expect(ContinuousClock.now - waited >= .seconds(1.9))
    settle(sizes, 10)
    #expect(sizes.withLock { $0 } == [8, 2])
}

/// A close while the writer gathers ends the wait: the queued command is decided and
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
