import Events
import Foundation
import Ledger
import Projections
import Synchronization
import Testing

/// A random history made through real commands: several owners, actors (root, local
/// admins, the sweeper, a management key, keys verifying themselves), client IPs, and
/// the audit records of reads and failed logins.
private struct History {
    let fixture: LedgerFixture
    var keys: [KeyID] = []
    var managementKey: KeyID
    var owners = ["org_0", "org_1", "org_2"]
    var ips = [IPAddress("10.0.0.1"), IPAddress("10.0.0.2"), IPAddress("2001:db8::7"), nil]
    static let routes = ["/v1/audit", "/v1/keys/{id}", "/v1/keys/suspend", "/v1/nowhere"]

    init(seed: UInt64, steps: Int) throws {
        let f = try LedgerFixture()
        fixture = f
        var rng = SplitMix64(seed: seed)
        let (admin, adminSecret) = try f.create {
            $0.owner = "org_0"
            $0.scopes = ["ledger:keys"]
        }
        managementKey = admin.id
        var secrets: [KeyID: String] = [:]
        for _ in 0..<steps {
            f.clock.advance(seconds: Double(rng.next() % 20))
            let ip = ips[Int(rng.next() % UInt64(ips.count))]
            let actors = [
                Actor(kind: .root, id: "root"), Actor(kind: .socket, id: "uid:0"), Actor(kind: .socket, id: "uid:1000"),
            ]
            let context = CommandContext(actor: actors[Int(rng.next() % 3)], ip: ip, requestID: "req_\(rng.next())")
            if rng.next() % 6 == 0 {
                let route = Self.routes[Int(rng.next() % 2)]
                let read = LedgerRequest(method: "GET", route: route, status: rng.next() % 3 == 0 ? 404 : 200)
                let recorded: Bool = try wait { done in
                    f.ledger.recordRequest(read, context: context, coalesce: rng.next() % 2 == 0) {
                        done(.success($0 == nil))
                    }
                }
                #expect(recorded)
            }
            if rng.next() % 9 == 0 {
                let failure = AuthFailed(method: "GET", route: Self.routes[Int(rng.next() % 2)], reason: .malformed)
                let recorded: Bool = try wait { done in
                    f.ledger.recordAuthFailure(failure, ip: ip, requestID: nil) { done(.success($0 == nil)) }
                }
                #expect(recorded)
            }
            let roll = rng.next() % 100
            if keys.isEmpty || roll < 10 {
                let owner = owners[Int(rng.next() % UInt64(owners.count))]
                let (key, secret) = try wait { done in
                    var spec = KeySpec(owner: owner, name: "k")
                    spec.ttlSeconds = rng.next() % 4 == 0 ? Int64(1 + rng.next() % 300) : nil
                    f.ledger.createKey(spec, context: context, completion: done)
                }
                keys.append(key.id)
                secrets[key.id] = secret
                continue
            }
            let id = keys[Int(rng.next() % UInt64(keys.count))]
            switch roll {
            case 10..<60:
                _ = try wait { done in
                    f.ledger.verify(secret: secrets[id]!, VerifyRequest(), context: context, completion: done)
                }
            case 60..<70: _ = try? f.run(.suspend(id, reason: nil), context: context)
            case 70..<80: _ = try? f.run(.reactivate(id), context: context)
            case 80..<88:
                // The management key acts for org_0 only; elsewhere it is refused and records that.
                let asKey = CommandContext(
                    actor: Actor(kind: .key, id: ""), ip: ip,
                    credential: ManagementCredential(
                        digest: Secret.digest(adminSecret), endpoint: "POST /v1/keys/suspend"))
                _ = try? f.run(.suspend(id, reason: "by key"), context: asKey)
            case 88..<94:
                var changes = KeyChanges()
                changes.name = "renamed \(rng.next() % 1000)"
                _ = try? f.run(.update(id, changes, expectedVersion: nil), context: context)
            case 94..<97: _ = try? f.run(.revoke(id, reason: nil), context: context)
            default: _ = try f.run(.expireDue, context: CommandContext(actor: .sweeper))
            }
        }
    }

    /// Every event of the log, once the projections (which the queries read) include them.
    func allEvents() throws -> [Event] {
        try fixture.ledger.awaitProjections()
        return try fixture.ledger.events(after: 0, limit: .max).map(\.event)
    }
}

private func matches(_ event: Event, _ filter: AuditFilter, start: Int64?, end: Int64?) -> Bool {
    if let id = filter.keyID, event.keyID != id { return false }
    if let owner = filter.owner, event.owner != owner { return false }
    if !filter.types.isEmpty, !filter.types.contains(event.type) { return false }
    if let actor = filter.actor, event.actor != actor { return false }
    if let ip = filter.ip, event.ip != ip { return false }
    if !filter.routes.isEmpty, !filter.routes.contains(event.payload.managementRoute ?? "") { return false }
    if let start, event.time < start { return false }
    if let end, event.time >= end { return false }
    return true
}

/// Reads every page of a query, newest first.
private func allPages(
    _ ledger: Ledger, _ filter: AuditFilter, start: Int64?, end: Int64?, limit: Int
) throws -> [UInt64] {
    var seqs: [UInt64] = []
    var before: UInt64?
    repeat {
        let page = try ledger.auditPage(filter, start: start, end: end, before: before, limit: limit)
        #expect(page.events.count <= limit)
        seqs += page.events.map(\.event.seq)
        before = page.next
    } while before != nil
    return seqs
}

@Test(arguments: [11, 12] as [UInt64])
func everyAuditFilterEqualsABruteForceFilterOfTheLog(seed: UInt64) throws {
    let history = try History(seed: seed, steps: 700)
    let ledger = history.fixture.ledger
    let events = try history.allEvents()
    #expect(events.count > 500)
    var rng = SplitMix64(seed: seed &* 31)
    let actors = Set(events.map(\.actor)).sorted { $0.id < $1.id }
    #expect(actors.contains { $0.kind == .key && $0.id == history.managementKey.description })
    let first = events.first!.time
    let last = events.last!.time
    var nonEmpty = 0
    for _ in 0..<300 {
        var filter = AuditFilter()
        if rng.next() % 3 == 0 { filter.keyID = history.keys[Int(rng.next() % UInt64(history.keys.count))] }
        if rng.next() % 2 == 0 { filter.owner = history.owners[Int(rng.next() % 3)] + (rng.next() % 9 == 0 ? "x" : "") }
        if rng.next() % 2 == 0 {
            filter.types = (0..<(1 + rng.next() % 3)).map { _ in
                EventType.allCases[Int(rng.next() % UInt64(EventType.allCases.count))]
            }
        }
        if rng.next() % 3 == 0 { filter.actor = actors[Int(rng.next() % UInt64(actors.count))] }
        if rng.next() % 4 == 0 { filter.ip = history.ips[Int(rng.next() % 3)] }
        if rng.next() % 6 == 0 {
            // Mostly routes the history has records of, sometimes one it has none of.
            filter.routes = (0..<(1 + rng.next() % 2)).map { _ in History.routes[Int(rng.next() % 4)] }
        }
        let start: Int64? = rng.next() % 3 == 0 ? first + Int64(rng.next() % UInt64(last - first + 1)) : nil
        let end: Int64? = rng.next() % 3 == 0 ? first + Int64(rng.next() % UInt64(last - first + 2)) : nil
        let expected = events.filter { matches($0, filter, start: start, end: end) }.map(\.seq).reversed()
        let got = try allPages(ledger, filter, start: start, end: end, limit: 1 + Int(rng.next() % 40))
        #expect(
            got == Array(expected), "filter \(filter) start \(String(describing: start)) end \(String(describing: end))"
        )
        if !got.isEmpty { nonEmpty += 1 }
    }
    // The random filters must exercise real matches, not only empty answers.
    #expect(nonEmpty > 100)
}

@Test func paginationNeverRepeatsOrSkipsWhileEventsArrive() throws {
    let f = try LedgerFixture()
    let (key, secret) = try f.create { $0.owner = "org_9" }
    for _ in 0..<300 { _ = try f.verify(secret) }
    let snapshot = f.headSeq
    let filter = AuditFilter(owner: "org_9", types: [.accessed, .created])
    // A second thread keeps appending matching events while pages are read.
    let stop = Atomic<Bool>(false)
    let ledger = f.ledger
    let writer = Thread {
        while !stop.load(ordering: .relaxed) {
            _ = try? wait { done in
                ledger.verify(secret: secret, VerifyRequest(), context: rootContext, completion: done)
            }
        }
    }
    writer.start()
    var seqs: [UInt64] = []
    var before: UInt64?
    var pages = 0
    repeat {
        let page = try f.ledger.auditPage(filter, start: nil, end: nil, before: before, limit: 7)
        seqs += page.events.map(\.event.seq)
        before = page.next
        pages += 1
        if pages == 1 {
            // Make sure appends happen between pages.
            while f.headSeq < snapshot + 20 { Thread.sleep(forTimeInterval: 0.001) }
        }
    } while before != nil
    stop.store(true, ordering: .relaxed)
    while !writer.isFinished { Thread.sleep(forTimeInterval: 0.001) }
    #expect(f.headSeq >= snapshot + 20)
    // Strictly descending (no repeats), and gap-free below the first page's top: every
    // event of the key up to where the walk began is there exactly once.
    #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $0 > $1 })
    let top = try #require(seqs.first)
    #expect(top >= snapshot)
    let expected = try f.ledger.events(after: 0, limit: Int(top)).filter { $0.event.keyID == key.id }.map(
        \.event.seq
    ).reversed()
    #expect(seqs == Array(expected))
}

@Test(arguments: [21] as [UInt64])
func stateAtEverySeqEqualsAFoldOfTheEventsUpToIt(seed: UInt64) throws {
    let history = try History(seed: seed, steps: 300)
    let ledger = history.fixture.ledger
    let events = try history.allEvents()
    var folded: [KeyID: KeyState] = [:]
    var checked = 0
    for event in events {
        folded[event.keyID] = KeyState.evolve(folded[event.keyID], event)
        // Every key at this seq: the ones this event touched and a few others.
        for id in history.keys.prefix(4) + [event.keyID] {
            let state = try ledger.state(of: id, atSeq: event.seq)
            #expect(state == folded[id], "key \(id) at seq \(event.seq)")
            checked += 1
        }
        // By time: the state after the last event at or before this event's time.
        if event.seq % 17 == 0 {
            let lastAtTime = events.last { $0.time <= event.time }!
            var byTime: KeyState?
            for e in events where e.seq <= lastAtTime.seq && e.keyID == event.keyID {
                byTime = KeyState.evolve(byTime, e)
            }
            #expect(try ledger.state(of: event.keyID, atTime: event.time) == byTime)
        }
    }
    #expect(try ledger.state(of: history.keys[0], atTime: events[0].time - 1) == nil)
    // The fold of everything is the current state.
    for id in history.keys { #expect(try ledger.key(id) == folded[id]) }
    #expect(checked > 1000)
}

/// Threads of this process now (`/proc/self/task`).
func threadCount() throws -> Int { try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count }

/// Waits up to 10 s for `condition`.
func eventually(_ condition: () -> Bool) {
    let deadline = Date().addingTimeInterval(10)
    while !condition(), Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
}

/// 200 long-polls wait without a thread each (the process gains at most a few threads
/// while they wait); a commit answers every one with the new event, and a deadline
/// answers with an empty page; past the bound a long-poll is refused.
@Test func longPollsWaitWithoutAThreadEachAndReturnOnCommitOrTimeout() throws {
    let directory = TempDirectory()
    defer { directory.remove() }
    var options = LedgerOptions()
    options.sweepInterval = nil
    options.maxLongPolls = 200
    let ledger = try Ledger(path: directory.path, options: options)
    defer { ledger.close() }
    let head = try ledger.head().seq
    let threadsBefore = try threadCount()
    let answers = Mutex<[Int]>([])
    for _ in 0..<200 {
        let admitted = ledger.events(after: head, limit: 10, wait: 30) { result in
            answers.withLock { $0.append((try? result.get())?.count ?? -1) }
        }
        #expect(admitted)
    }
    #expect(ledger.longPollsWaiting == 200)
    #expect(!ledger.events(after: head, limit: 10, wait: 30) { _ in })
    #expect(try threadCount() - threadsBefore <= 3)
    #expect(answers.withLock { $0.isEmpty })
    _ = try wait { done in ledger.createKey(KeySpec(owner: "org_1", name: "k"), context: rootContext, completion: done)
    }
    eventually { answers.withLock { $0.count } == 200 }
    #expect(answers.withLock { $0 } == Array(repeating: 1, count: 200))

    let expired = Mutex<[Int]>([])
    let started = Date()
    for _ in 0..<50 {
        _ = ledger.events(after: head + 1, limit: 10, wait: 0.3) { result in
            expired.withLock { $0.append((try? result.get())?.count ?? -1) }
        }
    }
    eventually { expired.withLock { $0.count } == 50 }
    #expect(expired.withLock { $0 } == Array(repeating: 0, count: 50))
    #expect(Date().timeIntervalSince(started) >= 0.3 && Date().timeIntervalSince(started) < 5)
    #expect(ledger.longPollsWaiting == 0)
}

/// A busy key's state-at starts from the snapshot kept every `snapshotInterval` events of
/// its stream: it must still equal the fold of the whole stream at every point, before,
/// at and after each snapshot, and a replay must keep the same snapshots.
@Test func stateAtFromSnapshotsEqualsTheWholeFold() throws {
    let f = try LedgerFixture()
    let (key, secret) = try f.create { $0.rateLimits = [RateLimit(limit: 1_000_000, windowSeconds: 60)] }
    let interval = Int(KeyStateProjection.snapshotInterval)
    let ledger = f.ledger
    for round in 0..<(2 * interval + 300) / 100 {
        // A hundred verifications at once, so they share commits.
        let group = DispatchGroup()
        for _ in 0..<100 {
            group.enter()
            ledger.verify(secret: secret, VerifyRequest(), context: rootContext) { _ in group.leave() }
        }
        group.wait()
        f.clock.advance(seconds: 7)
        if round % 5 == 4 { _ = try f.run(.suspend(key.id, reason: "round \(round)")) }
        if round % 5 == 0 { _ = try? f.run(.reactivate(key.id)) }
    }
    try f.ledger.awaitProjections()
    let events = try f.ledger.events(after: 0, limit: .max).map(\.event)
    #expect(events.count > 2 * interval + 100)
    var folded: [UInt64: KeyState] = [:]
    var state: KeyState?
    for event in events {
        state = KeyState.evolve(state, event)
        folded[event.seq] = state
    }
    #expect(try f.ledger.key(key.id)?.events == UInt64(events.count))
    let snapshotSeqs = [interval, 2 * interval].map { events[$0 - 1].seq }
    var probes = Set(stride(from: 1, through: events.count, by: 61).map { UInt64($0) })
    for seq in snapshotSeqs { probes.formUnion([seq - 1, seq, seq + 1]) }
    for seq in probes.sorted() { #expect(try f.ledger.state(of: key.id, atSeq: seq) == folded[seq], "seq \(seq)") }
    let before = try f.projectionDump()
    #expect(before["key_snapshots"]?.count == 2)
    try f.ledger.replay(transactionEvents: 333)
    #expect(try f.projectionDump() == before)
}
