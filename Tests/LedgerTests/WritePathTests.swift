import Dispatch
import Events
import Foundation
@testable import Ledger
import Projections
import Store
import Synchronization
import Testing

/// Every key's state folded from the whole log.
func foldedStates(_ ledger: Ledger) throws -> [KeyID: KeyState] {
    var states: [KeyID: KeyState] = [:]
    for stored in try ledger.events(after: 0, limit: .max) {
        states[stored.event.keyID] = KeyState.evolve(states[stored.event.keyID], stored.event)
    }
    return states
}

/// The writer's decision state holds, for every key, what a fold of the log gives: the
/// facts decisions read (status, windows, credits, scopes, ...), no more and no fewer keys.
func expectDecisionsEqualAFold(_ ledger: Ledger, _ note: String = "", sourceLocation: SourceLocation = #_sourceLocation)
    throws
{
    let folded = try foldedStates(ledger)
    let views = ledger.decisionViews()
    #expect(Set(views.keys) == Set(folded.keys), "\(note): keys differ", sourceLocation: sourceLocation)
    for (id, fold) in folded {
        guard let view = views[id] else { continue }
        let same =
            view.status == fold.status && view.windows == fold.windows && view.credits == fold.credits
            && view.scopes == fold.scopes && view.accounts == fold.accounts && view.ipAllowlist == fold.ipAllowlist
            && view.expiresAt == fold.expiresAt && view.rateLimits == fold.rateLimits && view.owner == fold.owner
            && view.version == fold.version && view.events == fold.events && view.lastUsedAt == fold.lastUsedAt
            && view.previousSecretExpiresAt == fold.previousSecretExpiresAt
        #expect(same, "\(note): key \(id): decision state \(view) is not the fold \(fold)", sourceLocation: sourceLocation)
    }
}

@Test(arguments: [1, 2, 3])
func theDecisionStateIsAFoldOfTheLogBeforeAndAfterARestart(seed: UInt64) throws {
    let f = try LedgerFixture()
    try runRandomCommands(f, seed: seed)
    try expectDecisionsEqualAFold(f.ledger, "running")
    try f.reopen()
    try expectDecisionsEqualAFold(f.ledger, "reopened")
}

/// A management command that fails after its credential's use was decided (and appended,
/// in its child transaction) leaves the decision state as before it but for its refusal's
/// record: a `key.accessed` with the status, which counts in no rate window.
@Test func aFailedCommandLeavesTheDecisionStateAsBefore() throws {
    let f = try LedgerFixture()
    let (admin, adminSecret) = try f.create { spec in
        spec.scopes = ["ledger:keys"]
        spec.rateLimits = [RateLimit(limit: 3, windowSeconds: 60)]
    }
    let (target, _) = try f.create()
    let context = CommandContext(
        actor: Actor(kind: .key, id: admin.id.description),
        credential: ManagementCredential(digest: Secret.digest(adminSecret), endpoint: "PATCH /v1/keys/{id}"))
    var changes = KeyChanges()
    changes.name = "renamed"
    let head = f.headSeq
    for _ in 0..<5 {
        expectError(.conflict("key \(target.id) is at version 1, not 7")) {
            _ = try f.run(.update(target.id, changes, expectedVersion: 7), context: context)
        }
    }
    #expect(f.headSeq == head + 5)
    for seq in head + 1...head + 5 {
        guard case .accessed(let refusal) = try #require(try f.ledger.event(at: seq)).event.payload else {
            Issue.record("seq \(seq) is not the refusal's record")
            continue
        }
        #expect(refusal.status == 409 && refusal.code == .valid)
    }
    try expectDecisionsEqualAFold(f.ledger, "after failures")
    // The credential's three uses a minute are all still there.
    for i in 0..<3 {
        changes.name = "renamed \(i)"
        _ = try f.run(.update(target.id, changes, expectedVersion: nil), context: context)
    }
    expectError(.rateLimited("the credential is over its rate limit", retryAfterSeconds: 60)) {
        _ = try f.run(.update(target.id, changes, expectedVersion: nil), context: context)
    }
    try expectDecisionsEqualAFold(f.ledger, "after grants")
}

/// A key with N credits verified by many callers at once: exactly N are granted, and the
/// log and the decision state (also after a restart) agree.
@Test func exactlyNCreditsAreGrantedUnderConcurrency() throws {
    let f = try LedgerFixture()
    let credits = 50
    let (key, secret) = try f.create { $0.credits = Int64(credits) }
    let granted = Mutex(0)
    let group = DispatchGroup()
    let ledger = f.ledger
    DispatchQueue.concurrentPerform(iterations: 8) { _ in
        for _ in 0..<40 {
            group.enter()
            ledger.verify(secret: secret, VerifyRequest(), context: rootContext) { result in
                if case .success(let verdict) = result, verdict.isValid { granted.withLock { $0 += 1 } }
                group.leave()
            }
        }
    }
    group.wait()
    #expect(granted.withLock { $0 } == credits)
    try f.ledger.awaitLog()
    let accesses = try f.ledger.events(after: 0, limit: .max).filter { stored in
        if case .accessed(let a) = stored.event.payload { return a.code == .valid && stored.event.keyID == key.id }
        return false
    }
    #expect(accesses.count == credits)
    try f.ledger.awaitProjections()
    #expect(try f.ledger.key(key.id)?.credits == 0)
    try f.reopen()
    #expect(try f.verify(secret).code == .usageExceeded)
    try expectDecisionsEqualAFold(f.ledger)
}

/// Deleting the projections' environment while the ledger is stopped: the next open
/// rebuilds it from the log, to what the running ledger had.
@Test func deletedProjectionsAreRebuiltAtOpen() throws {
    let f = try LedgerFixture()
    try runRandomCommands(f, seed: 9)
    // A close flushes coalesced audit records (one more event): reopen first, so that the
    // projections dumped hold every event the rebuild will fold.
    try f.reopen()
    try f.ledger.awaitProjections()
    let expected = try f.projectionDump()
    f.ledger.close()
    let directory = f.directory.path + "/" + LedgerSchema.projectionsDirectory
    for file in ["data.mdb", "lock.mdb"] { unlink(directory + "/" + file) }
    f.ledger = try LedgerFixture.open(f.directory.path, clock: f.clock)
    #expect(try f.projectionDump() == expected)
    try expectDecisionsEqualAFold(f.ledger)
}

/// Projections written under another boot and not closed cleanly may have been torn by an
/// operating-system crash (they are committed without sync): they are deleted and rebuilt.
/// The same marks from this boot (a process crash, which loses nothing LMDB committed)
/// keep them.
@Test(arguments: [true, false])
func projectionsLeftOpenUnderAnotherBootAreRebuilt(anotherBoot: Bool) throws {
    let f = try LedgerFixture()
    try runRandomCommands(f, seed: 11)
    try f.ledger.awaitProjections()
    let expected = try f.projectionDump()
    f.ledger.close()
    do {
        // A stand-in for a torn page: the key rows gone while the checkpoints stay.
        let environment = try Environment(
            path: f.directory.path + "/" + LedgerSchema.projectionsDirectory, tables: LedgerSchema.projectionTableSpecs)
        let state = environment.table(LedgerSchema.projectionStateSpec.name)
        try environment.write { txn in
            try txn.clear(environment.table("keys"))
            try txn.put(state, ProjectionStore.cleanKey, [0])
            if anotherBoot { try txn.put(state, ProjectionStore.bootKey, Array("another-boot".utf8)) }
        }
    }
    f.ledger = try LedgerFixture.open(f.directory.path, clock: f.clock)
    let rows = try f.projectionDump()
    if anotherBoot {
        #expect(rows == expected)
    } else {
        #expect(rows["keys"]?.isEmpty == true)
    }
}

/// Queries lag the log by what the projector has not folded yet; `whenProjected` answers
/// once it has, and not before.
@Test func aQueryWaitingForASeqIsAnsweredOnceTheProjectionsIncludeIt() throws {
    let f = try LedgerFixture()
    let projector = try #require(f.ledger.projector)
    projector.pause()
    let (key, _) = try wait { done in f.ledger.createKey(KeySpec(owner: "o", name: "n"), context: rootContext, completion: done) }
    let head = f.headSeq
    #expect(try f.ledger.key(key.id) == nil)
    let answered = Mutex<Bool?>(nil)
    #expect(f.ledger.whenProjected(head, within: 0.2) { included in answered.withLock { $0 = included } })
    Thread.sleep(forTimeInterval: 0.5)
    #expect(answered.withLock { $0 } == false)
    let lag = f.ledger.projectionLag()
    #expect(lag.events == 1)
    let done = DispatchSemaphore(value: 0)
    #expect(f.ledger.whenProjected(head, within: 10) { included in
        answered.withLock { $0 = included }
        done.signal()
    })
    projector.resume()
    done.wait()
    #expect(answered.withLock { $0 } == true)
    #expect(try f.ledger.key(key.id)?.id == key.id)
    #expect(f.ledger.projectionLag().events == 0)
}

/// The journal undoes everything since a mark: new keys, accesses, rotations (the secret
/// lookup included); what was committed stays.
@Test func theDecisionStateRollsBackToAMark() throws {
    func key(_ n: UInt64, limits: [RateLimit] = [], credits: Int64? = nil) -> KeyState {
        let created = KeyCreated(
            name: "k\(n)", prefix: "sk_", environment: "live", scopes: ["a"], accounts: [], ipAllowlist: [],
            expiresAt: nil, rateLimits: limits, credits: credits, metadata: [:],
            secretDigest: Secret.digest("secret-\(n)"))
        return KeyState(id: KeyID(high: 1, low: n), owner: "org_\(n % 2)", created: created, at: 1_000)
    }
    var state = DecisionState()
    let first = key(1, limits: [RateLimit(limit: 5, windowSeconds: 60)], credits: 10)
    state.store(first, replacing: nil)
    state.committed()
    let before = state.decisionView(0)

    let access = Event(
        time: 2_000, keyID: first.id, owner: first.owner, actor: Actor(kind: .key, id: first.id.description),
        payload: .accessed(KeyAccessed(code: .valid, cost: 3)))
    let spent = try #require(KeyState.evolve(state.decisionView(0), access))
    state.recordAccess(0, spent)
    #expect(state.decisionView(0).credits == 7 && state.decisionView(0).windows[0].current == 1)
    // A rotation stores the key's full current state (the decision state's facts over it).
    var rotated = state.current(first)
    rotated.previousSecretDigest = first.secretDigest
    rotated.previousSecretExpiresAt = 9_000
    rotated.secretDigest = Secret.digest("rotated")
    state.store(rotated, replacing: first)
    state.store(key(2), replacing: nil)
    #expect(state.count == 2 && state.decisionView(0).credits == 7)
    #expect(state.lookup(Secret.digest("rotated"))?.position == 0)
    #expect(state.lookup(Secret.digest("secret-1"))?.previous == true)

    state.rollback(to: 0)
    #expect(state.count == 1)
    #expect(state.decisionView(0) == before)
    #expect(state.lookup(Secret.digest("secret-1")).map { $0.position == 0 && !$0.previous } == true)
    #expect(state.lookup(Secret.digest("rotated")) == nil && state.lookup(Secret.digest("secret-2")) == nil)
    #expect(state.position(of: KeyID(high: 1, low: 2)) == nil)
}

/// A projection with only a fold: events per type and per key, one row each.
struct EventCountProjection: Projection {
    static let spec = TableSpec("test_event_counts")
    let name = "test_counts"
    let needsEventContext = false
    let table: Table
    var tables: [Table] { [table] }

    func apply(_ event: Event, in txn: borrowing Transaction) throws {
        for key in [Array(event.type.wireName.utf8), event.keyID.bytes] {
            let count = try txn.get(table, key).map { $0.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } } ?? 0
            try txn.put(table, key, withUnsafeBytes(of: count + 1) { Array($0) })
        }
    }
}

/// The rebuild derived from a fold (``FoldingRebuilder``, the default) writes what folding
/// every event with `apply` writes, over transactions of several chunks.
@Test func aProjectionWithOnlyAFoldIsRebuiltByTheDefaultRebuilder() throws {
    let f = try LedgerFixture()
    try runRandomCommands(f, seed: 5)
    let directory = TempDirectory()
    defer { directory.remove() }
    func rows(_ environment: Environment, _ projection: EventCountProjection) throws -> [[UInt8]] {
        try environment.read { txn in
            var all: [[UInt8]] = []
            try txn.withCursor(projection.table) { cursor in
                var entry = try cursor.first()
                while let e = entry {
                    all.append(Array(e.key) + [0xFF] + Array(e.value))
                    entry = try cursor.next()
                }
            }
            return all
        }
    }
    let specs = [EventCountProjection.spec, Checkpoints.tableSpec]
    let folded = try Environment(path: directory.path + "/folded", tables: specs)
    let incremental = EventCountProjection(table: folded.table(EventCountProjection.spec.name))
    try folded.write { txn in
        for stored in try f.ledger.events(after: 0, limit: .max) { try incremental.apply(stored.event, in: txn) }
    }
    let rebuilt = try Environment(path: directory.path + "/rebuilt", tables: specs)
    let projection = EventCountProjection(table: rebuilt.table(EventCountProjection.spec.name))
    try Ledger.rebuild(
        [projection], log: EventLog(environment: f.ledger.environment), checkpoints: Checkpoints(environment: rebuilt),
        in: f.ledger.environment, projections: rebuilt, transactionEvents: 700)
    let expected = try rows(folded, incremental)
    #expect(!expected.isEmpty)
    #expect(try rows(rebuilt, projection) == expected)
    #expect(try rebuilt.read { txn in try Checkpoints(environment: rebuilt).read("test_counts", in: txn) } == f.headSeq)
}

/// Whether the event at `seq` is durable in the ledger at `path`: in the log's LMDB
/// file (a new read transaction sees it) or in a frame of the journal file that LMDB
/// does not hold yet (read from the file). The log's file is asked again after the
/// journal: a generation that committed between the two reads took the event from the
/// journal into the file (events never leave it), and the journal started over.
func isDurable(_ seq: UInt64, of keyID: KeyID, in ledger: Ledger, path: String) -> Bool {
    if let stored = try? ledger.event(at: seq) { return stored.event.keyID == keyID }
    guard let (_, payloads) = Journal.read(directory: path) else { return inLog(seq, of: keyID, ledger) }
    var found = false
    for payload in payloads {
        try? payload.withUnsafeBytes { bytes in
            try RedoLog.forEachWrite(bytes) { table, key in
                if table == EventLog.tableSpec.name, key.count == 8,
                    UInt64(bigEndian: key.loadUnaligned(as: UInt64.self)) == seq
                {
                    found = true
                }
            }
        }
    }
    return found || inLog(seq, of: keyID, ledger)
}

private func inLog(_ seq: UInt64, of keyID: KeyID, _ ledger: Ledger) -> Bool {
    (try? ledger.event(at: seq))?.event.keyID == keyID
}

/// Callers are answered once their batch is durable: from inside a completion, the
/// answer's event is in the log's file or in the journal's (read from the files), and
/// the ledger's committed head includes it, whether one verification runs at a time or
/// eight threads keep the writer's batches full.
@Test func everyAnswerComesAfterItsCommit() throws {
    var options = LedgerOptions()
    options.journalBytes = 1 << 20
    let f = try LedgerFixture(options: options)
    let (key, secret) = try f.create()
    let ledger = f.ledger
    let path = f.directory.path
    let early = Mutex<[String]>([])
    @Sendable func check(_ seq: UInt64?) {
        guard let seq else { return early.withLock { $0.append("an answer without its seq") } }
        let head = (try? ledger.committedSeq()) ?? 0
        if head < seq || !isDurable(seq, of: key.id, in: ledger, path: path) {
            early.withLock { $0.append("seq \(seq) answered with the committed head at \(head)") }
        }
    }
    for _ in 0..<25 {
        _ = try wait { done in
            ledger.verify(secret: secret, VerifyRequest(), context: rootContext) { result in
                check(ledger.seqOfAnswer)
                done(result)
            }
        }
    }
    DispatchQueue.concurrentPerform(iterations: 8) { _ in
        for _ in 0..<50 {
            _ = try? wait { done in
                ledger.verify(secret: secret, VerifyRequest(), context: rootContext) { result in
                    check(ledger.seqOfAnswer)
                    done(result)
                }
            }
        }
    }
    let problems = early.withLock { $0 }
    #expect(problems.count == 0, "\(problems.prefix(3))")
    try f.ledger.awaitLog()
    #expect(try f.ledger.head().seq >= 425)
}

/// Field `field` (1-based, as in `man 5 proc`) of /proc/self/task/TID/stat.
private func statField(_ field: Int, ofThread tid: Int32) -> Int? {
    guard let stat = try? String(contentsOfFile: "/proc/self/task/\(tid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return nil }
    // After "(comm) " comes field 3, the state.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.count > field - 3 ? Int(fields[field - 3]) : nil
}

/// Field `field` of each thread of this process named `name`.
private func statField(_ field: Int, ofThreads name: String) -> [Int] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.compactMap { tid -> Int? in
        guard let comm = try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8),
            comm.trimmingCharacters(in: .whitespacesAndNewlines) == name, let id = Int32(tid)
        else { return nil }
        return statField(field, ofThread: id)
    }
}

/// The fold's thread's nice value (field 19) and scheduling policy (field 41: 0 SCHED_OTHER,
/// 5 SCHED_IDLE).
private func foldThread(_ projector: Projector) -> (nice: Int?, policy: Int?) {
    let tid = projector.foldThreadID.load(ordering: .relaxed)
    return (statField(19, ofThread: tid), statField(41, ofThread: tid))
}

/// Verifies `secret` without waiting for the projections, then polls until they include
/// it: a round nobody waits for (a query's wait would hurry it).
private func verifyAndLetTheFoldCatchUp(_ f: LedgerFixture, _ secret: String) throws {
    _ = try wait { done in f.ledger.verify(secret: secret, VerifyRequest(), context: rootContext, completion: done) }
    let head = f.headSeq
    let projector = try #require(f.ledger.projector)
    let deadline = Date().addingTimeInterval(30)
    while projector.projected < head && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
    #expect(projector.projected >= head)
}

/// A ledger with `foldIdleClassLag` set to `lag`, a key created (a round a query waited
/// for) and verified once, folded in a round nobody waited for; with the key's secret.
private func foldCaughtUp(idleClassLag lag: Double?) throws -> (LedgerFixture, Projector, String) {
    var options = LedgerOptions()
    options.foldIdleClassLag = lag
    let f = try LedgerFixture(options: options)
    let (_, secret) = try f.create()
    try verifyAndLetTheFoldCatchUp(f, secret)
    return (f, try #require(f.ledger.projector), secret)
}

/// The fold runs behind the request path: while a ledger is open for writing, the thread
/// named `kl-projector` has nice 10 and, caught up with nobody waiting for it, is in the
/// idle scheduling class where the process may leave it again (root may: this suite runs
/// as root); the writer's thread keeps the process's nice value (0 here) and class.
@Test func theProjectorsThreadStepsAsideForTheWriters() throws {
    // Back in the idle class below 2.5 s of lag: however slow the machine running the test.
    let (f, projector, _) = try foldCaughtUp(idleClassLag: 10)
    let fold = foldThread(projector)
    #expect(fold.nice == 10)
    let writers = statField(19, ofThreads: "kl-writer")
    #expect(!writers.isEmpty && !writers.contains(10))
    #expect(statField(41, ofThreads: "kl-writer").allSatisfy { $0 == 0 })
    if geteuid() == 0 { #expect(projector.foldsInIdleClass) }
    #expect(fold.policy == (projector.foldsInIdleClass ? 5 : 0))
    withExtendedLifetime(f) {}
}

/// The fold leaves the idle class for nice 10 when a query waits for it (it is then on
/// that request's path), and when it falls behind, so that on a saturated machine it
/// still gets its share and the lag stays bounded: with a limit of 0 s every round is
/// behind, and the thread stays in SCHED_OTHER at nice 10 for good.
@Test func aFoldThatIsAwaitedOrFallsBehindLeavesTheIdleClass() throws {
    let (awaited, projector, secret) = try foldCaughtUp(idleClassLag: 10)
    #expect(projector.foldsInIdleClass == (geteuid() == 0))
    // `verify` of the fixture waits for the projections: that round runs at nice 10.
    _ = try awaited.verify(secret)
    #expect(!projector.foldsInIdleClass)
    #expect(foldThread(projector).policy == 0 && foldThread(projector).nice == 10)

    let (behind, late, other) = try foldCaughtUp(idleClassLag: 0)
    try verifyAndLetTheFoldCatchUp(behind, other)
    #expect(!late.foldsInIdleClass)
    #expect(foldThread(late).policy == 0 && foldThread(late).nice == 10)

    // Without the idle class at all: the same thread at nice 10.
    let (never, plain, _) = try foldCaughtUp(idleClassLag: nil)
    #expect(!plain.foldsInIdleClass)
    #expect(foldThread(plain).policy == 0 && foldThread(plain).nice == 10)
    withExtendedLifetime((awaited, behind, never)) {}
}
