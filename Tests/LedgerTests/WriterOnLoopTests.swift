import Dispatch
import Foundation
import Events
import Projections
@testable import Ledger
import Synchronization
import Testing

/// A thread that does what an HTTP event loop does with the writer attached: sleeps until
/// its wake-up is called or the writer's work is due, then runs what is due.
private final class TestLoop: @unchecked Sendable {
    let ledger: Ledger
    /// Calls of the wake-up the loop gave the writer.
    let wakeups = Atomic<Int>(0)
    let thread = Atomic<UInt>(0)
    private let woken = DispatchSemaphore(value: 0)
    private let attached = DispatchSemaphore(value: 0)
    private let ended = DispatchSemaphore(value: 0)
    private let ending = Atomic<Bool>(false)

    init(_ ledger: Ledger) {
        self.ledger = ledger
        let loop = Thread { [self] in run() }
        loop.start()
        attached.wait()
    }

    private func run() {
        thread.store(UInt(pthread_self()), ordering: .releasing)
        ledger.attachWriter(wake: { [self] in
            wakeups.add(1, ordering: .relaxed)
            woken.signal()
        })
        attached.signal()
        while !ending.load(ordering: .acquiring) {
            let due = ledger.writerWorkDueIn()
            // Nothing due: sleep until woken (a missing wake-up hangs the caller, and the
            // caller's bounded wait fails the test).
            if due == .max { woken.wait() } else { _ = woken.wait(timeout: .now() + .nanoseconds(Int(min(due, 1 << 40)))) }
            ledger.runWriterWork()
        }
        ledger.detachWriter()
        ended.signal()
    }

    /// Ends the loop as a server's does: its last turn, then `detachWriter()`.
    func end() {
        ending.store(true, ordering: .releasing)
        woken.signal()
        ended.wait()
    }

    var isCurrent: Bool { pthread_self() == thread.load(ordering: .acquiring) }
}

/// Creates a key from the calling thread and waits at most 5 s for the answer; the result
/// and whether the answer ran on `loop`'s thread.
private func create(
    _ ledger: Ledger, on loop: TestLoop
) throws -> (Result<(KeyState, String), LedgerError>, onLoop: Bool) {
    let answer = Mutex<(Result<(KeyState, String), LedgerError>, Bool)?>(nil)
    let done = DispatchSemaphore(value: 0)
    var spec = KeySpec(owner: "org_1", name: "k")
    spec.scopes = ["a:r"]
    ledger.createKey(spec, context: rootContext) { result in
        answer.withLock { $0 = (result, loop.isCurrent) }
        done.signal()
    }
    #expect(done.wait(timeout: .now() + 5) == .success, "no answer within 5 s")
    return try #require(answer.withLock { $0 })
}

/// Generations that commit only when asked to (60 s), so a test sees who commits them.
private let lastingGenerations = {
    var options = LedgerOptions()
    options.journalMillis = 60_000
    return options
}()

/// With a loop attached, the batches of commands queued by other threads run on the loop
/// (their answers come from its thread), woken by the wake-up it gave; no writer thread
/// waits for them.
@Test func anAttachedLoopRunsTheBatchesOfOtherThreadsWhenWoken() throws {
    let f = try LedgerFixture()
    let loop = TestLoop(f.ledger)
    defer { loop.end() }
    let (created, onLoop) = try create(f.ledger, on: loop)
    let (key, secret) = try created.get()
    #expect(onLoop)
    #expect(loop.wakeups.load(ordering: .relaxed) >= 1)

    // Many at once from many threads: every one answered on the loop.
    let answeredOnLoop = Atomic<Int>(0)
    let done = DispatchGroup()
    let ledger = f.ledger
    DispatchQueue.concurrentPerform(iterations: 200) { _ in
        done.enter()
        ledger.verify(secret: secret, VerifyRequest(), context: rootContext) { verdict in
            if loop.isCurrent, case .success(let v) = verdict, v.code == .valid { answeredOnLoop.add(1, ordering: .relaxed) }
            done.leave()
        }
    }
    #expect(done.wait(timeout: .now() + 10) == .success)
    #expect(answeredOnLoop.load(ordering: .relaxed) == 200)
    try f.ledger.awaitProjections(seconds: 5)
    #expect(try f.ledger.key(key.id)?.status == .active)
}

/// A reader on another thread that waits for acknowledged events wakes the loop, which
/// commits the open generation at once instead of at its deadline (here 60 s away).
@Test func aWaitingReaderWakesTheLoopToCommit() throws {
    let f = try LedgerFixture(options: lastingGenerations)
    let loop = TestLoop(f.ledger)
    defer { loop.end() }
    _ = try create(f.ledger, on: loop).0.get()
    let writer = try #require(f.ledger.writer)
    #expect(writer.visibleHead < writer.committedHead)
    let started = ContinuousClock.now
    try f.ledger.awaitLog(seconds: 10)
    #expect(ContinuousClock.now - started < .seconds(10))
    #expect(writer.visibleHead == writer.committedHead)
}

/// Work for the writer's thread from another thread (a chore) runs on the loop, after the
/// open generation committed; so does a backup's.
@Test func choresFromOtherThreadsRunOnTheLoop() throws {
    let f = try LedgerFixture(options: lastingGenerations)
    let loop = TestLoop(f.ledger)
    defer { loop.end() }
    let (key, _) = try create(f.ledger, on: loop).0.get()
    let ranOnLoop = Atomic<Bool>(false)
    let writer = try #require(f.ledger.writer)
    let chored = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
        writer.onWriterThread { _ in ranOnLoop.store(loop.isCurrent, ordering: .relaxed) }
        chored.signal()
    }
    try #require(chored.wait(timeout: .now() + 5) == .success, "the chore did not run within 5 s")
    let ran = ranOnLoop.load(ordering: .relaxed)
    #expect(ran)
    #expect(writer.visibleHead == writer.committedHead)
    #expect(f.ledger.decisionViews()[key.id]?.status == .active)
    // A backup's chore commits what the loop acknowledged since: the copy holds it.
    _ = try create(f.ledger, on: loop).0.get()
    let copy = TempDirectory()
    defer { copy.remove() }
    let copied = try f.ledger.backup(to: copy.path + "/ledger")
    #expect(copied.seq == writer.committedHead)
}

/// A loop that ends gives the batches back to a thread of the writer's: what it
/// acknowledged is in the log, and later commands are answered without it.
@Test func aLoopThatEndsGivesTheBatchesBackToAThread() throws {
    let f = try LedgerFixture(options: lastingGenerations)
    let loop = TestLoop(f.ledger)
    let (created, onLoop) = try create(f.ledger, on: loop)
    #expect(onLoop)
    let (_, secret) = try created.get()
    let writer = try #require(f.ledger.writer)
    loop.end()
    // The loop committed its generation as it ended.
    #expect(writer.visibleHead == writer.committedHead)
    let verdict = try f.verify(secret)
    #expect(verdict.code == .valid)
    #expect(f.ledger.writerWorkDueIn() == .max)
}

/// The writer's thread hands over with no generation open: what it acknowledged before a
/// loop attached is readable at once, and the loop begins a generation of its own.
@Test func theWritersThreadCommitsItsGenerationBeforeALoopTakesOver() throws {
    let f = try LedgerFixture(options: lastingGenerations)
    let ledger = f.ledger
    // Not `f.create()`: its read-your-writes wait would commit the generation.
    _ = try wait { done in ledger.createKey(KeySpec(owner: "org_1", name: "k"), context: rootContext, completion: done) }
    let writer = try #require(f.ledger.writer)
    #expect(writer.visibleHead < writer.committedHead)
    let loop = TestLoop(f.ledger)
    defer { loop.end() }
    #expect(writer.visibleHead == writer.committedHead)
    let (created, onLoop) = try create(f.ledger, on: loop)
    #expect(onLoop)
    _ = try created.get()
}

/// Closing the ledger while a loop is attached answers every queued command, commits, and
/// ends the writer's work on the loop; commands after it are refused.
@Test func closingTheLedgerUnderAnAttachedLoopFinishesOnTheLoop() throws {
    let directory = TempDirectory()
    defer { directory.remove() }
    let ledger = try LedgerFixture.open(directory.path, clock: ManualClock(), options: lastingGenerations)
    let loop = TestLoop(ledger)
    defer { loop.end() }
    _ = try create(ledger, on: loop).0.get()
    let writer = try #require(ledger.writer)
    ledger.close()
    #expect(writer.visibleHead == writer.committedHead)
    let (refused, _) = try create(ledger, on: loop)
    guard case .failure(.unavailable) = refused else {
        Issue.record("\(refused)")
        return
    }
    #expect(ledger.writerWorkDueIn() == .max)
}

/// A flood queued while the loop is busy is decided in batches of at most
/// `loopMaxBatch` on the loop (not the writer thread's 4,096), one batch per turn, so the
/// loop's other connections wait out a few milliseconds, not the whole flood.
@Test func aFloodIsDecidedInBoundedBatchesOnTheLoop() throws {
    let sizes = Mutex<[Int]>([])
    var options = LedgerOptions()
    options.onCommit = { _, size, _ in sizes.withLock { $0.append(size) } }
    let f = try LedgerFixture(options: options)
    let loop = TestLoop(f.ledger)
    defer { loop.end() }
    let (_, secret) = try create(f.ledger, on: loop).0.get()
    let writer = try #require(f.ledger.writer)
    // The observer runs after a batch's answers: the key's batch is seen before it is forgotten.
    let seen = ContinuousClock.now + .seconds(5)
    while sizes.withLock({ $0.isEmpty }), ContinuousClock.now < seen { Thread.sleep(forTimeInterval: 0.001) }
    sizes.withLock { $0.removeAll() }
    // Hold the loop in a chore while the flood is queued.
    let release = try holdWriter(writer)
    let flood = writer.loopMaxBatch * 2 + 300
    let done = DispatchGroup()
    for _ in 0..<flood {
        done.enter()
        f.ledger.verify(secret: secret, VerifyRequest(), context: rootContext) { _ in done.leave() }
    }
    release.signal()
    #expect(done.wait(timeout: .now() + 20) == .success)
    let deadline = ContinuousClock.now + .seconds(5)
    while sizes.withLock({ $0.reduce(0, +) }) < flood, ContinuousClock.now < deadline {
        Thread.sleep(forTimeInterval: 0.001)
    }
    let batches = sizes.withLock { $0 }
    #expect(batches.reduce(0, +) == flood)
    #expect(batches.max() == writer.loopMaxBatch, "\(batches)")
}

/// On the loop too the sweeper's checks are due by the clock: under sustained commands a
/// key whose expiry passes is expired within a few sweep intervals.
@Test func theSweeperExpiresAKeyUnderLoadOnTheLoop() throws {
    let (f, secret, id) = try expiryUnderLoadFixture()
    let loop = TestLoop(f.ledger)
    defer { loop.end() }
    #expect(try expiresUnderLoad(f, secret, id))
}
