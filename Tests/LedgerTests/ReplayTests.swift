import CLMDB
import Dispatch
import Events
import Glibc
import Ledger
import Projections
import Store
import Testing

/// Random command sequences: the projections built incrementally by the writer must
/// equal, byte for byte, the ones a replay of the log builds.
@Test(arguments: [1, 2, 3])
func incrementalStateEqualsAReplay(seed: UInt64) throws {
    let f = try LedgerFixture()
    try runRandomCommands(f, seed: seed)
    let incremental = try f.projectionDump()
    #expect(f.headSeq > 300)
    var types = Set<EventType>()
    for seq in 1...f.headSeq { if let stored = try f.ledger.event(at: seq) { types.insert(stored.event.type) } }
    // Every kind of key, audit, owner and plan event is in the sequence (webhook events,
    // expiry warnings and leak reports are not made here).
    let notMade: Set<EventType> = [
        .webhookCreated, .webhookUpdated, .webhookDeleted, .webhookSecretRotated, .webhookDisabled, .expiring, .leaked,
    ]
    #expect(types == Set(EventType.allCases).subtracting(notMade))
    try f.ledger.replay(transactionEvents: 97)
    #expect(try f.projectionDump() == incremental)
    #expect(try f.ledger.projectionCheckpoints().values.allSatisfy { $0 == f.headSeq })
}

/// 600 random commands: creations, verifications, suspensions, updates, rotations,
/// credits, revocations and expiry sweeps, over a few owners, the clock moving on; and
/// the audit records of management requests (reads, refusals, failed logins).
func runRandomCommands(_ f: LedgerFixture, seed: UInt64) throws {
    var rng = SplitMix64(seed: seed)
    var keys: [(KeyID, String)] = []
    let (auditor, auditorSecret) = try f.create { $0.scopes = ["ledger:audit"] }
    try quotaSetup(f)
    for step in 0..<600 {
        f.clock.advance(seconds: Double(rng.next() % 30))
        if step % 7 == 3, let (id, secret) = keys.last { try recordAuditTraffic(f, id, secret, auditor, auditorSecret) }
        // Now and then half a day passes: refills and purges fall due.
        if step % 100 == 50 { f.clock.advance(seconds: 43_200) }
        // Twice, a burst of verifications, so that posting lists span many blocks.
        if step % 300 == 150 { verifyBurst(f, keys.map(\.1), count: 1_500, rng: &rng) }
        let roll = rng.next() % 100
        if keys.isEmpty || roll < 12 {
            let (key, secret) = try f.create { spec in
                spec.owner = "org_\(rng.next() % 4)"
                if rng.next() % 2 == 0 { spec.credits = Int64(rng.next() % 20) }
                if rng.next() % 2 == 0 { spec.rateLimits = [RateLimit(limit: 1 + rng.next() % 5, windowSeconds: 60)] }
                if rng.next() % 3 == 0 { spec.ttlSeconds = Int64(1 + rng.next() % 600) }
                switch rng.next() % 4 {
                case 0: spec.quota.plan = rng.next() % 2 == 0 ? "free" : "pro"
                case 1: spec.quota.refill = Refill(interval: .daily, amount: 7)
                case 2: spec.quota.purgeAfterSeconds = Int64(rng.next() % 3600)
                default: break
                }
            }
            keys.append((key.id, secret))
            continue
        }
        let (id, secret) = keys[Int(rng.next() % UInt64(keys.count))]
        switch roll {
        case 12..<60:
            _ = try f.verify(secret, VerifyRequest(scope: rng.next() % 5 == 0 ? "other" : "accounts:read"))
        case 60..<68:
            _ = try? f.run(.suspend(id, reason: "step \(step)"))
        case 68..<76:
            _ = try? f.run(.reactivate(id))
        case 76..<82:
            var changes = KeyChanges()
            changes.name = "renamed \(step)"
            changes.metadata = ["step": "\(step)"]
            _ = try? f.run(.update(id, changes, expectedVersion: nil))
        case 82..<88:
            let rotated = try? wait { done in
                f.ledger.rotateKey(
                    id, gracePeriodSeconds: Int64(rng.next() % 120), context: rootContext, completion: done)
            }
            if let (_, newSecret) = rotated, let i = keys.firstIndex(where: { $0.0 == id }) { keys[i].1 = newSecret }
        case 88..<92:
            switch rng.next() % 4 {
            case 0:
                _ = try? f.run(.setCredits(id, balance: Int64(rng.next() % 10)))
                _ = try? f.run(.addCredits(id, amount: 3))
            case 1: _ = try? f.run(.subtractCredits(id, amount: Int64(rng.next() % 3)))
            case 2:
                var changes = KeyChanges()
                changes.rateLimits = [
                    RateLimit(name: "minute", limit: 1 + rng.next() % 5, windowSeconds: 60),
                    RateLimit(name: "hour", limit: 20, windowSeconds: 3600),
                ]
                _ = try? f.run(.update(id, changes, expectedVersion: nil))
            default: _ = try? f.run(.addCredits(id, amount: 5))
            }
        case 92..<95:
            _ = try? f.run(.revoke(id, reason: nil))
        default:
            try randomQuotaChange(f, step: step, &rng)
            _ = try f.run(.expireDue, context: CommandContext(actor: .sweeper))
        }
    }
}

/// Two plans and four owners, some on a plan, with shared limits, credits and refills.
func quotaSetup(_ f: LedgerFixture) throws {
    var free = PlanChanges()
    free.rateLimits = [RateLimit(name: "minute", limit: 4, windowSeconds: 60)]
    free.refill = .some(Refill(interval: .daily, amount: 30))
    _ = try f.run(.putPlan("free", free))
    var pro = PlanChanges()
    pro.rateLimits = [RateLimit(name: "minute", limit: 20, windowSeconds: 60)]
    _ = try f.run(.putPlan("pro", pro))
    for i in 0..<4 {
        var owner = OwnerChanges()
        owner.rateLimits = [RateLimit(limit: UInt64(10 + i), windowSeconds: 120)]
        if i % 2 == 0 { owner.plan = .some("free") }
        if i == 1 { owner.credits = .some(40) }
        if i == 3 { owner.purgeAfterSeconds = .some(600) }
        _ = try f.run(.putOwner("org_\(i)", owner))
    }
}

/// Moves an owner to another plan, or changes a plan's limits.
func randomQuotaChange(_ f: LedgerFixture, step: Int, _ rng: inout SplitMix64) throws {
    switch rng.next() % 3 {
    case 0:
        var owner = OwnerChanges()
        owner.plan = .some(rng.next() % 2 == 0 ? "free" : "pro")
        _ = try f.run(.putOwner("org_\(rng.next() % 4)", owner))
    case 1:
        var plan = PlanChanges()
        plan.rateLimits = [RateLimit(name: "minute", limit: 2 + rng.next() % 6, windowSeconds: 60)]
        _ = try f.run(.putPlan("free", plan))
    default:
        var owner = OwnerChanges()
        owner.credits = .some(Int64(rng.next() % 50))
        _ = try f.run(.putOwner("org_1", owner))
    }
}

/// A management key's granted and refused reads, a root read and a failed login.
private func recordAuditTraffic(
    _ f: LedgerFixture, _ id: KeyID, _ secret: String, _ auditor: KeyState, _ auditorSecret: String
)
    throws
{
    func asKey(_ secret: String) -> CommandContext {
        CommandContext(
            actor: Actor(kind: .key, id: ""), ip: IPAddress("10.0.0.9"), requestID: "req_audit",
            credential: ManagementCredential(digest: Secret.digest(secret), endpoint: "GET /v1/keys/{id}/logs"))
    }
    _ = try? f.run(.authorize(.readKeyHistory(id)), context: asKey(secret))
    _ = try? f.run(.recordUse(.readKeyHistory(auditor.id), status: 200), context: asKey(auditorSecret))
    let read = LedgerRequest(method: "GET", route: "/v1/audit", status: 200)
    _ = try wait { done in
        f.ledger.recordRequest(read, context: rootContext, coalesce: true) { done(.success($0 == nil)) }
    }
    let failure = AuthFailed(method: "GET", route: "/v1/audit", reason: .unknown)
    _ = try wait { done in
        f.ledger.recordAuthFailure(failure, ip: IPAddress("10.0.0.8"), requestID: nil) { done(.success($0 == nil)) }
    }
}

/// `count` verifications of keys among `secrets`, submitted at once (the writer groups
/// them into a few commits): long posting lists, quickly.
func verifyBurst(_ f: LedgerFixture, _ secrets: [String], count: Int, rng: inout SplitMix64) {
    let done = DispatchGroup()
    for _ in 0..<count {
        done.enter()
        let secret = secrets[Int(rng.next() % UInt64(secrets.count))]
        f.ledger.verify(secret: secret, VerifyRequest(), context: rootContext) { _ in done.leave() }
    }
    done.wait()
}

@Test func aProjectionThatFellBehindCatchesUpOnTheNextWrite() throws {
    let f = try LedgerFixture()
    let (key, secret) = try f.create()
    for _ in 0..<5 { _ = try f.verify(secret) }
    let expected = try f.projectionDump()
    try f.forget("audit", tables: ["audit_postings"])
    try f.reopen()
    _ = try f.run(.suspend(key.id, reason: nil))
    _ = try f.run(.reactivate(key.id))
    try f.ledger.replay()
    let withoutLast = try f.projectionDump()
    #expect(withoutLast["audit_postings"] != expected["audit_postings"])
    #expect(try f.ledger.projectionCheckpoints()["audit"] == f.headSeq)
}

/// A replay killed after some chunks leaves the usage projection (which writes at the end
/// of the log) far behind: the next writer rebuilds it in chunks before serving instead of
/// folding the whole log inside its first transaction.
@Test func aProjectionFarBehindIsRebuiltWhenTheLedgerOpens() throws {
    let f = try LedgerFixture()
    let (_, secret) = try f.create()
    for _ in 0..<40 { _ = try f.verify(secret) }
    let expected = try f.projectionDump()
    try f.forget("usage", tables: ["usage_by_minute", "usage_by_hour"])
    f.ledger.close()
    var options = LedgerOptions()
    options.clock = f.clock
    options.sweepInterval = nil
    options.rebuildLag = 10
    f.ledger = try Ledger(path: f.directory.path, options: options)
    // Rebuilt on open: before any command ran.
    #expect(try f.projectionDump() == expected)
    #expect(try f.ledger.projectionCheckpoints().values.allSatisfy { $0 == f.headSeq })
}

@Test func aTamperedByteIsFoundByItsSequence() throws {
    let f = try LedgerFixture()
    let (_, secret) = try f.create()
    for _ in 0..<9 { _ = try f.verify(secret) }
    #expect(try f.ledger.verifyChain().isIntact)
    #expect(try f.ledger.verifyChain().events == 10)
    let events = f.ledger.environment.table("events")
    try f.ledger.environment.write { txn in
        let key = withUnsafeBytes(of: UInt64(6).bigEndian) { Array($0) }
        var value = try #require(try txn.get(events, key))
        value[20] ^= 0x01
        try txn.put(events, key, value)
    }
    let report = try f.ledger.verifyChain()
    #expect(report.firstBadSeq == 6 && report.reason == "hash does not match the record")
}

@Test func theMapGrowsWhenItFills() throws {
    let dir = TempDirectory()
    defer { dir.remove() }
    var options = LedgerOptions()
    options.sweepInterval = nil
    options.environment.initialMapSize = 256 * 1024
    let ledger = try Ledger(path: dir.path, options: options)
    defer { ledger.close() }
    let before = try ledger.environment.mapUsage().size
    var spec = KeySpec(owner: "org_1", name: "grow")
    spec.metadata = Dictionary(uniqueKeysWithValues: (0..<40).map { ("k\($0)", String(repeating: "x", count: 400)) })
    for _ in 0..<200 { _ = try wait { done in ledger.createKey(spec, context: rootContext, completion: done) } }
    try ledger.awaitLog()
    #expect(try ledger.environment.mapUsage().size > before)
    #expect(try ledger.head().seq == 200)
    #expect(try ledger.verifyChain().isIntact)
}

/// A replay and a bulk import whose transactions hit MDB_MAP_FULL are retried whole: no
/// event is lost or folded twice.
@Test func replayAndImportSurviveMapGrowth() throws {
    let dir = TempDirectory()
    defer { dir.remove() }
    var options = LedgerOptions()
    options.sweepInterval = nil
    options.environment.initialMapSize = 64 * 1024
    // Small steps, so the map fills many times, in every projection's part of a chunk.
    options.environment.maxGrowthStep = 64 * 1024
    let ledger = try Ledger(path: dir.path, options: options)
    defer { ledger.close() }
    var spec = KeySpec(owner: "org_1", name: "grow")
    spec.metadata = Dictionary(uniqueKeysWithValues: (0..<40).map { ("k\($0)", String(repeating: "y", count: 300)) })
    let (key, secret) = try wait { done in ledger.createKey(spec, context: rootContext, completion: done) }
    for _ in 0..<300 {
        _ = try wait { done in ledger.verify(secret: secret, VerifyRequest(), context: rootContext, completion: done) }
    }
    try ledger.awaitProjections()
    let before = try dumpProjections(ledger)
    try ledger.replay(transactionEvents: 50)
    #expect(try dumpProjections(ledger) == before)
    var remaining = 5000
    let head = try ledger.head()
    let imported = try ledger.importEvents(transactionEvents: 700) {
        guard remaining > 0 else { return nil }
        remaining -= 1
        return Event(
            time: head.time + 1, keyID: key.id, owner: "org_1", actor: Actor(kind: .key, id: key.id.description),
            payload: .accessed(KeyAccessed(code: .valid, cost: 0)))
    }
    #expect(imported == head.seq + 5000)
    #expect(try ledger.verifyChain().events == head.seq + 5000)
    // The import left the projections behind; rebuilding them from scratch needs room
    // the map does not have yet, so chunks are retried after it grows.
    let mapBefore = try ledger.projectionEnvironment.mapUsage().size
    try ledger.replay(transactionEvents: 999)
    #expect(try ledger.projectionEnvironment.mapUsage().size > mapBefore)
    #expect(try ledger.projectionCheckpoints().values.allSatisfy { $0 == head.seq + 5000 })
    let retried = try dumpProjections(ledger)
    // A second rebuild, in one chunk and with room to spare, writes the same rows.
    try ledger.replay(transactionEvents: 100_000)
    #expect(try dumpProjections(ledger) == retried)
}

@Test func filesAreCreatedOwnerOnly() throws {
    let f = try LedgerFixture()
    for file in ["data.mdb", "lock.mdb", "keyledger.lock"] {
        var st = stat()
        #expect(stat(f.directory.path + "/" + file, &st) == 0)
        #expect(st.st_mode & 0o077 == 0, "\(file) is readable by others")
    }
}

@Test func aSecondWriterIsRefused() throws {
    let f = try LedgerFixture()
    #expect(throws: LedgerError.self) { _ = try Ledger(path: f.directory.path) }
    let reader = try Ledger.openReadOnly(path: f.directory.path)
    #expect(try reader.head().seq == 0)
}

/// A ledger of an earlier layout (projections inside the log's environment, some in tables
/// of before) gets them dropped when it opens for writing, and its projections rebuilt in
/// their own environment.
/// The layouts that came before: the key-first usage tables, and the audit index as one
/// LMDB sub-database of 8-byte seqs per list (`MDB_DUPSORT | MDB_DUPFIXED`).
@Test(arguments: [
    (UsageProjection.retiredTableNames, UsageProjection.tableSpecs, false),
    (AuditIndexProjection.retiredTableNames, AuditIndexProjection.tableSpecs, true),
])
func tablesOfAnEarlierLayoutAreDroppedAndTheirProjectionRebuilt(
    old: [String], new: [TableSpec], duplicates: Bool
) throws {
    let dir = TempDirectory()
    defer { dir.remove() }
    var options = LedgerOptions()
    options.sweepInterval = nil
    let (expected, replaced) = try {
        let ledger = try Ledger(path: dir.path, options: options)
        defer { ledger.close() }
        let (_, secret) = try wait { done in
            ledger.createKey(KeySpec(owner: "org_1", name: "old"), context: rootContext, completion: done)
        }
        for _ in 0..<5 {
            _ = try wait { done in
                ledger.verify(secret: secret, VerifyRequest(), context: rootContext, completion: done)
            }
        }
        try ledger.awaitProjections()
        return (try dumpProjections(ledger), new.map(\.name))
    }()
    #expect(replaced.allSatisfy { expected[$0]?.isEmpty == false })
    // What an older build left: the projections inside the log's environment (here: the
    // old tables holding rows and a checkpoints table), no projections environment.
    try writeEarlierLayout(at: dir.path, old: old + ["checkpoints", "keys"], duplicates: duplicates)
    for file in ["data.mdb", "lock.mdb"] { unlink(dir.path + "/" + LedgerSchema.projectionsDirectory + "/" + file) }
    // A reader cannot rebuild, so it refuses rather than answer from empty tables.
    #expect(throws: LedgerError.self) { _ = try Ledger.openReadOnly(path: dir.path, options: options) }
    let ledger = try Ledger(path: dir.path, options: options)
    defer { ledger.close() }
    #expect(try dumpProjections(ledger) == expected)
    let reader = try Ledger.openReadOnly(path: dir.path, options: options)
    reader.close()
    let remaining = try ledger.environment.write { txn in
        try (old + ["checkpoints", "keys"]).filter { try txn.dropTable(named: $0) }
    }
    #expect(remaining.isEmpty)
}

/// Writes tables `old` holding rows (sub-databases of 8-byte values when `duplicates`)
/// into the log's environment, with LMDB's own calls, as an older build would have left them.
private func writeEarlierLayout(at path: String, old: [String], duplicates: Bool) throws {
    var env: OpaquePointer?
    func check(_ rc: Int32) throws { if rc != 0 { throw LMDBError(code: rc) } }
    try check(mdb_env_create(&env))
    defer { mdb_env_close(env) }
    try check(mdb_env_set_maxdbs(env, 64))
    try check(mdb_env_open(env, path, 0, 0o600))
    var txn: OpaquePointer?
    try check(mdb_txn_begin(env, nil, 0, &txn))
    for name in old {
        var dbi: MDB_dbi = 0
        let flags = UInt32(MDB_CREATE) | (duplicates ? UInt32(MDB_DUPSORT | MDB_DUPFIXED) : 0)
        try check(mdb_dbi_open(txn, name, flags, &dbi))
        // Key [1, 2, 3]; values 1 and 2, big-endian.
        let row = UnsafeMutableRawBufferPointer.allocate(byteCount: 11, alignment: 8)
        defer { row.deallocate() }
        row.copyBytes(from: [1, 2, 3])
        for seq in [UInt64(1), 2] {
            row.storeBytes(of: seq.bigEndian, toByteOffset: 3, as: UInt64.self)
            var k = MDB_val(mv_size: 3, mv_data: row.baseAddress)
            var v = MDB_val(mv_size: 8, mv_data: row.baseAddress! + 3)
            try check(mdb_put(txn, dbi, &k, &v, 0))
        }
    }
    try check(mdb_txn_commit(txn))
}
