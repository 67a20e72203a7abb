import Dispatch
import Events
import JSON
import Ledger
import Projections
import Synchronization
import Testing

extension LedgerFixture {
    func owner(_ name: String, _ configure: (inout OwnerChanges) -> Void) throws -> OwnerState {
        var changes = OwnerChanges()
        configure(&changes)
        guard case .owner(let owner) = try run(.putOwner(name, changes)) else { throw LedgerError.notFound("no owner") }
        return owner
    }

    func plan(_ name: String, _ configure: (inout PlanChanges) -> Void) throws -> PlanState {
        var changes = PlanChanges()
        configure(&changes)
        guard case .plan(let plan) = try run(.putPlan(name, changes)) else { throw LedgerError.notFound("no plan") }
        return plan
    }

    func sweep() throws {
        _ = try run(.expireDue, context: CommandContext(actor: .sweeper))
    }
}

/// Two keys of one owner whose limit is L, verified at once from many threads: exactly
/// L are granted in total, however the writer batches them.
@Test func anOwnersWindowIsSharedExactlyByAllItsKeys() throws {
    let f = try LedgerFixture()
    _ = try f.owner("org_42") { $0.rateLimits = [RateLimit(name: "hour", limit: 50, windowSeconds: 3600)] }
    let (_, first) = try f.create()
    let (_, second) = try f.create()
    let granted = Atomic<Int>(0)
    let done = DispatchGroup()
    for i in 0..<200 {
        done.enter()
        f.ledger.verify(secret: i % 2 == 0 ? first : second, VerifyRequest(), context: rootContext) { result in
            if case .success(let v) = result, v.isValid { granted.add(1, ordering: .relaxed) }
            done.leave()
        }
    }
    done.wait()
    #expect(granted.load(ordering: .relaxed) == 50)
    let refused = try f.verify(first)
    #expect(refused.code == .rateLimited && (refused.retryAfterSeconds ?? 0) >= 1)
    let owner = try #require(refused.rateLimits.first { $0.scope == .owner })
    #expect(owner.name == "hour" && owner.remaining == 0 && owner.limit == 50)
}

@Test func ownerCreditsAreSpentByEveryKeyOfTheOwner() throws {
    let f = try LedgerFixture()
    _ = try f.owner("org_42") { $0.credits = .some(3) }
    let (_, a) = try f.create()
    let (_, b) = try f.create()
    #expect(try f.verify(a).isValid)
    #expect(try f.verify(b, VerifyRequest(cost: 2)).ownerCredits == 0)
    #expect(try f.verify(a).code == .usageExceeded)
    #expect(try f.ledger.owner("org_42")?.settings.credits == 0)
}

@Test func aPlanChangeAppliesToEveryKeyAtOnceAndKeepsItsWindows() throws {
    let f = try LedgerFixture()
    _ = try f.plan("free") { $0.rateLimits = [RateLimit(name: "hour", limit: 2, windowSeconds: 3600)] }
    let (_, a) = try f.create { $0.quota.plan = "free" }
    let (_, b) = try f.create { $0.quota.plan = "free" }
    for secret in [a, b] {
        #expect(try f.verify(secret).isValid)
        #expect(try f.verify(secret).isValid)
        #expect(try f.verify(secret).code == .rateLimited)
    }
    _ = try f.plan("free") { $0.rateLimits = [RateLimit(name: "hour", limit: 3, windowSeconds: 3600)] }
    // Each key's two requests still count against the plan's new limit: one more each.
    for secret in [a, b] {
        let granted = try f.verify(secret)
        #expect(granted.isValid && granted.plan == "free" && granted.rateLimit?.remaining == 0)
        #expect(try f.verify(secret).code == .rateLimited)
    }
}

@Test func anOwnersPlanIsSharedByItsKeysAndChangesAtOnce() throws {
    let f = try LedgerFixture()
    _ = try f.plan("guest") {
        $0.rateLimits = [
            RateLimit(name: "hour", limit: 3, windowSeconds: 3600), RateLimit(name: "day", limit: 50, windowSeconds: 86_400),
        ]
    }
    _ = try f.plan("pro") { $0.rateLimits = [RateLimit(name: "hour", limit: 5, windowSeconds: 3600)] }
    _ = try f.owner("org_42") { $0.plan = .some("guest") }
    let (_, a) = try f.create()
    let (_, b) = try f.create()
    #expect(try f.verify(a).isValid)
    #expect(try f.verify(b).isValid)
    #expect(try f.verify(a).isValid)
    #expect(try f.verify(b).code == .rateLimited)
    // The upgrade: the hour window (same name and length) keeps its three requests.
    _ = try f.owner("org_42") { $0.plan = .some("pro") }
    let after = try f.verify(b)
    #expect(after.isValid && after.rateLimits.map(\.remaining) == [1])
    #expect(after.plan == "pro")
}

@Test func anOwnerNamesOnlyAnExistingPlan() throws {
    let f = try LedgerFixture()
    expectError(.invalid(field: "plan", reason: "no plan gold")) { _ = try f.owner("org_42") { $0.plan = .some("gold") } }
    expectError(.invalid(field: "plan", reason: "no plan gold")) { _ = try f.create { $0.quota.plan = "gold" } }
    #expect(f.headSeq == 0)
}

@Test func creditsRefillAtTheBoundaryAndAReplayRestoresThem() throws {
    let f = try LedgerFixture()
    let midnight = Refill(interval: .daily, amount: 0).nextBoundary(after: f.clock.now())
    _ = try f.owner("org_42") {
        $0.credits = .some(10)
        $0.refill = .some(Refill(interval: .daily, amount: 10))
    }
    let (key, secret) = try f.create {
        $0.credits = 5
        $0.quota.refill = Refill(interval: .daily, amount: 5)
    }
    for _ in 0..<5 { #expect(try f.verify(secret).isValid) }
    #expect(try f.verify(secret).code == .usageExceeded)
    f.clock.advance(seconds: Double(midnight - f.clock.now()) / 1e6 - 1)
    try f.sweep()
    #expect(try f.ledger.key(key.id)?.credits == 0)
    f.clock.advance(seconds: 1)
    try f.sweep()
    #expect(try f.ledger.key(key.id)?.credits == 5)
    #expect(try f.ledger.owner("org_42")?.settings.credits == 10)
    let refilled = try #require(try f.ledger.event(at: f.headSeq)).event
    #expect(refilled.type == .creditsRefilled || refilled.type == .ownerCreditsRefilled)
    #expect(refilled.actor == .sweeper)
    // Nothing more until the next midnight.
    let head = f.headSeq
    f.clock.advance(seconds: 86_399)
    try f.sweep()
    #expect(f.headSeq == head)
    #expect(try f.verify(secret).isValid)
    let incremental = try f.projectionDump()
    try f.ledger.replay(transactionEvents: 3)
    #expect(try f.projectionDump() == incremental)
    f.clock.advance(seconds: 1)
    try f.sweep()
    #expect(try f.ledger.key(key.id)?.credits == 5)
}

@Test func monthlyRefillsFallOnTheirDayOrTheMonthsLast() {
    let refill = Refill(interval: .monthly, amount: 1, dayOfMonth: 31)
    let nov22 = micros("2026-11-22T23:00:00Z")
    #expect(refill.nextBoundary(after: nov22) == micros("2026-11-30T00:00:00Z"))
    let nov30 = micros("2026-11-30T00:00:00Z")
    #expect(refill.nextBoundary(after: nov30) == micros("2026-12-31T00:00:00Z"))
    let first = Refill(interval: .monthly, amount: 1)
    #expect(first.nextBoundary(after: nov22) == micros("2026-12-01T00:00:00Z"))
    #expect(Refill(interval: .daily, amount: 1).nextBoundary(after: nov30) == micros("2026-12-01T00:00:00Z"))
}

@Test func aPurgedKeyLeavesReadsButItsHistoryStays() throws {
    let f = try LedgerFixture()
    let (key, secret) = try f.create { $0.quota.purgeAfterSeconds = 60 }
    _ = try f.run(.revoke(key.id, reason: nil))
    f.clock.advance(seconds: 59)
    try f.sweep()
    #expect(try f.ledger.keyQuota(key.id)?.isPurged == false)
    f.clock.advance(seconds: 1)
    try f.sweep()
    #expect(try f.ledger.keyQuota(key.id)?.isPurged == true)
    let purged = try #require(try f.ledger.event(at: f.headSeq)).event
    #expect(purged.type == .purged && purged.keyID == key.id)
    let answer = try f.verify(secret)
    #expect(answer.code == .notFound && answer.key == nil)
    // An owner's purge delay reaches the keys created after it.
    _ = try f.owner("org_42") { $0.purgeAfterSeconds = .some(0) }
    let (guest, _) = try f.create { $0.ttlSeconds = 10 }
    #expect(try f.ledger.keyQuota(guest.id)?.settings.purgeAfterSeconds == 0)
    f.clock.advance(seconds: 10)
    try f.sweep()
    #expect(try f.ledger.keyQuota(guest.id)?.isPurged == true)
}

private func micros(_ text: String) -> Int64 { RFC3339.parse(text) ?? 0 }

/// The writer's owner, plan and key-quota states in memory equal what the quota
/// projection holds: a reopened ledger (which loads them from the projection) shows the
/// same, and goes on counting the shared windows from where they were.
@Test func theQuotaStateInMemoryEqualsTheProjection() throws {
    let f = try LedgerFixture()
    try runRandomCommands(f, seed: 7)
    let owners = try f.ledger.owners(after: nil, limit: 100)
    let plans = try f.ledger.plans(after: nil, limit: 100)
    let keys = try f.ledger.listKeys(owner: nil, status: nil, before: nil, limit: 1000).keys
    let quotas = try keys.map { try f.ledger.keyQuota($0.id) }
    #expect(owners.count == 4 && plans.count == 2 && quotas.contains { $0 != nil })
    try f.reopen()
    #expect(try f.ledger.owners(after: nil, limit: 100) == owners)
    #expect(try f.ledger.plans(after: nil, limit: 100) == plans)
    #expect(try keys.map { try f.ledger.keyQuota($0.id) } == quotas)
}

/// An owner's leakPolicy decides what a reported leak of its keys does, over the
/// server's; owners without one keep the server's.
@Test func anOwnersLeakPolicyOverridesTheServers() throws {
    let f = try LedgerFixture()
    _ = try f.owner("org_42") { $0.leakPolicy = .revoke }
    #expect(try f.ledger.owner("org_42")?.settings.leakPolicy == .revoke)
    let (own, ownSecret) = try f.create()
    let (other, otherSecret) = try f.create { $0.owner = "org_7" }
    let reports = [ownSecret, otherSecret].map {
        LeakReport(token: $0, type: "keyledger_key", url: nil, source: "content")
    }
    _ = try f.run(.reportLeaks(reports, policy: .suspend))
    try f.ledger.awaitProjections()
    #expect(try f.ledger.key(own.id)?.status == .revoked)
    #expect(try f.ledger.key(other.id)?.status == .suspended)
}
