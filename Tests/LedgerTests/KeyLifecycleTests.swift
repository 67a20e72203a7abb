import Dispatch
import Events
import Glibc
import Ledger
import Projections
import Synchronization
import Testing

@Test func aCreatedKeyHasItsAttributesAndOneEvent() throws {
    let f = try LedgerFixture()
    let (key, secret) = try f.create { spec in
        spec.rateLimits = [RateLimit(limit: 100, windowSeconds: 900)]
        spec.credits = 50
        spec.metadata = ["team": "crm"]
        spec.ttlSeconds = 3600
    }
    #expect(secret.hasPrefix("sk_live_") && Secret.isWellFormed(secret))
    #expect(key.owner == "org_42" && key.status == .active && key.version == 1 && key.credits == 50)
    #expect(key.expiresAt == f.clock.now() + 3_600_000_000)
    #expect(try f.ledger.key(key.id) == key)
    #expect(f.headSeq == 1)
    let stored = try #require(try f.ledger.event(at: 1))
    #expect(stored.event.type == .created && stored.event.actor.kind == .root && stored.event.requestID == "req_test")
}

@Test func badInputGetsAPreciseErrorAndAppendsNothing() throws {
    let f = try LedgerFixture()
    let (key, _) = try f.create()
    let before = f.headSeq
    expectError(.invalid(field: "owner", reason: "must be 1 to 64 characters")) { _ = try f.create { $0.owner = "" } }
    expectError(.invalid(field: "prefix", reason: "must match ^[a-z][a-z0-9]{0,15}_([a-z0-9]{1,15}_)?$")) {
        _ = try f.create { $0.prefix = "Bad-Prefix" }
    }
    expectError(.invalid(field: "rateLimits[0].limit", reason: "must be 1 to 1000000000")) {
        _ = try f.create { $0.rateLimits = [RateLimit(limit: 0, windowSeconds: 10)] }
    }
    expectError(.invalid(field: "credits", reason: "must be 0 to 1000000000000")) {
        _ = try f.create { $0.credits = -1 }
    }
    expectError(.invalid(field: "ttlSeconds", reason: "give expiresAt or ttlSeconds, not both")) {
        _ = try f.create {
            $0.ttlSeconds = 10
            $0.expiresAt = f.clock.now() + 100
        }
    }
    expectError(.invalid(field: "expiresAt", reason: "must be in the future")) {
        _ = try f.create { $0.expiresAt = f.clock.now() }
    }
    expectError(.invalid(field: "gracePeriodSeconds", reason: "must be 0 to 604800 (7 days)")) {
        _ = try f.run(.rotate(key.id, gracePeriodSeconds: 604_801, secretDigest: .zero))
    }
    let unknown = KeyID(high: 1, low: 2)
    expectError(.notFound("no key \(unknown)")) { _ = try f.run(.suspend(unknown, reason: nil)) }
    expectError(.invalid(field: "add", reason: "must be 1 to 1000000000000")) {
        _ = try f.run(.addCredits(key.id, amount: 0))
    }
    #expect(f.headSeq == before)
}

@Test func updatesCheckTheExpectedVersionAndSkipNoChange() throws {
    let f = try LedgerFixture()
    let (key, _) = try f.create()
    var changes = KeyChanges()
    changes.name = "Renamed"
    changes.metadata = ["a": "1"]
    let updated = try f.key(.update(key.id, changes, expectedVersion: 1))
    #expect(updated.name == "Renamed" && updated.version == 2 && updated.metadata == ["a": "1"])
    let seq = f.headSeq
    expectError(.conflict("key \(key.id) is at version 2, not 1")) {
        _ = try f.run(.update(key.id, changes, expectedVersion: 1))
    }
    let same = try f.key(.update(key.id, changes, expectedVersion: 2))
    #expect(same == updated && f.headSeq == seq)
    var removal = KeyChanges()
    removal.metadata = ["a": nil, "b": "2"]
    #expect(try f.key(.update(key.id, removal, expectedVersion: nil)).metadata == ["b": "2"])
    let stored = try #require(try f.ledger.event(at: f.headSeq))
    #expect(stored.event.payload == .updated(KeyUpdated(metadata: ["b": "2"])))
}

@Test func transitionsFollowTheLifecycle() throws {
    let f = try LedgerFixture()
    let (key, _) = try f.create { $0.credits = 5 }
    expectError(.conflict("key \(key.id) is active; only a suspended key can be reactivated")) {
        _ = try f.run(.reactivate(key.id))
    }
    #expect(try f.key(.suspend(key.id, reason: "audit")).status == .suspended)
    expectError(.conflict("key \(key.id) is suspended; only an active key can be suspended")) {
        _ = try f.run(.suspend(key.id, reason: nil))
    }
    #expect(try f.key(.reactivate(key.id)).status == .active)
    #expect(try f.key(.addCredits(key.id, amount: 10)).credits == 15)
    let revoked = try f.key(.revoke(key.id, reason: "leaked"))
    #expect(revoked.status == .revoked && revoked.version == 5)
    expectError(.conflict("key \(key.id) is already revoked")) { _ = try f.run(.revoke(key.id, reason: nil)) }
    expectError(.conflict("key \(key.id) is revoked and can no longer change")) {
        _ = try f.run(.addCredits(key.id, amount: 1))
    }
    let (unlimited, _) = try f.create()
    expectError(.conflict("key \(unlimited.id) has unlimited credits")) {
        _ = try f.run(.addCredits(unlimited.id, amount: 1))
    }
}

@Test func rotationKeepsSettingsAndHonoursTheGracePeriod() throws {
    let f = try LedgerFixture()
    let (key, old) = try f.create { $0.rateLimits = [RateLimit(limit: 10, windowSeconds: 60)] }
    let (rotated, new) = try wait { done in
        f.ledger.rotateKey(key.id, gracePeriodSeconds: 60, context: rootContext, completion: done)
    }
    #expect(new != old && new.hasPrefix("sk_live_"))
    #expect(rotated.name == key.name && rotated.scopes == key.scopes && rotated.rateLimits == key.rateLimits)
    #expect(rotated.rotatedAt == f.clock.now() && rotated.version == 2)
    #expect(try f.verify(old).code == .valid)
    #expect(try f.verify(new).code == .valid)
    f.clock.advance(seconds: 61)
    let late = try f.verify(old)
    #expect(late.code == .expired && late.status == 401)
    #expect(try f.verify(new).code == .valid)
    let (_, newest) = try wait { done in
        f.ledger.rotateKey(key.id, gracePeriodSeconds: 0, context: rootContext, completion: done)
    }
    #expect(try f.verify(new).code == .expired)
    #expect(try f.verify(newest).code == .valid)
    #expect(try f.verify(old).code == .notFound)
}

@Test func theSweeperExpiresKeysWhoseExpiryPassed() throws {
    let f = try LedgerFixture()
    let (key, _) = try f.create { $0.ttlSeconds = 10 }
    let (other, _) = try f.create()
    #expect(try f.run(.expireDue, context: CommandContext(actor: .sweeper)) == .expired(count: 0))
    f.clock.advance(seconds: 11)
    #expect(try f.run(.expireDue, context: CommandContext(actor: .sweeper)) == .expired(count: 1))
    #expect(try f.ledger.key(key.id)?.status == .expired)
    #expect(try f.ledger.key(other.id)?.status == .active)
    let last = try #require(try f.ledger.event(at: f.headSeq))
    #expect(last.event.type == .expired && last.event.actor == .sweeper)
    #expect(try f.run(.expireDue, context: CommandContext(actor: .sweeper)) == .expired(count: 0))
}

@Test func listingPagesNewestFirstByOwnerAndStatus() throws {
    let f = try LedgerFixture()
    var ids: [KeyID] = []
    for i in 0..<7 {
        f.clock.advance(seconds: 1)
        ids.append(try f.create { $0.owner = i % 2 == 0 ? "org_a" : "org_b" }.0.id)
    }
    _ = try f.run(.suspend(ids[2], reason: nil))
    let all = try f.ledger.listKeys(owner: nil, status: nil, before: nil, limit: 5)
    #expect(all.keys.map(\.id) == Array(ids.reversed().prefix(5)) && all.more)
    let rest = try f.ledger.listKeys(owner: nil, status: nil, before: all.keys.last?.id, limit: 5)
    #expect(rest.keys.map(\.id) == [ids[1], ids[0]] && !rest.more)
    let a = try f.ledger.listKeys(owner: "org_a", status: nil, before: nil, limit: 2)
    #expect(a.keys.map(\.id) == [ids[6], ids[4]] && a.more)
    let a2 = try f.ledger.listKeys(owner: "org_a", status: nil, before: ids[4], limit: 10)
    #expect(a2.keys.map(\.id) == [ids[2], ids[0]] && !a2.more)
    #expect(
        try f.ledger.listKeys(owner: "org_a", status: .suspended, before: nil, limit: 10).keys.map(\.id) == [ids[2]])
    #expect(try f.ledger.listKeys(owner: "org_zzz", status: nil, before: nil, limit: 10).keys.isEmpty)
}

@Test func aManagementKeyActsOnlyForItsOwnerAndFailuresRecordOnlyTheirRefusal() throws {
    let f = try LedgerFixture()
    let (_, adminSecret) = try f.create { $0.scopes = ["ledger:keys"] }
    let (_, auditSecret) = try f.create { $0.scopes = ["ledger:audit"] }
    let (foreign, _) = try f.create { $0.owner = "org_other" }
    func context(_ secret: String) -> CommandContext {
        CommandContext(
            actor: Actor(kind: .key, id: ""), ip: IPAddress("10.0.0.1"),
            credential: ManagementCredential(
                digest: Secret.digest(secret), endpoint: "POST /v1/keys"))
    }
    let before = f.headSeq
    expectError(.forbidden("key \(foreign.id) belongs to another owner")) {
        _ = try f.ledger.execute(.suspend(foreign.id, reason: nil), context: context(adminSecret))
    }
    expectError(.forbidden("the credential lacks the scope ledger:keys")) {
        _ = try f.ledger.execute(.suspend(foreign.id, reason: nil), context: context(auditSecret))
    }
    expectError(.unauthorized("the credential is not a known key")) {
        _ = try f.ledger.execute(.suspend(foreign.id, reason: nil), context: context("sk_live_unknown"))
    }
    // Each refusal leaves its own record and nothing else: the foreign key is untouched.
    #expect(f.headSeq == before + 3)
    let refusals = try (1...3).map { try #require(try f.ledger.event(at: before + $0)).event }
    #expect(refusals.map(\.type) == [.accessed, .accessed, .authFailed])
    guard case .accessed(let outsider) = refusals[0].payload, case .accessed(let unscoped) = refusals[1].payload,
        case .authFailed(let unknown) = refusals[2].payload
    else { return }
    #expect(outsider.status == 403 && outsider.code == .valid && outsider.endpoint == "POST /v1/keys")
    #expect(unscoped.status == 403 && unscoped.code == .insufficientScope)
    #expect(unknown == AuthFailed(method: "POST", route: "/v1/keys", reason: .unknown, keyID: nil))
    #expect(refusals[2].keyID == .none && refusals[2].ip == IPAddress("10.0.0.1"))
    #expect(try f.ledger.key(foreign.id)?.status == .active)
    let (own, _) = try f.create()
    let seq = f.headSeq
    guard case .key(let suspended) = try f.ledger.execute(.suspend(own.id, reason: nil), context: context(adminSecret))
    else {
        Issue.record("no key")
        return
    }
    #expect(suspended.status == .suspended && f.headSeq == seq + 2)
    let access = try #require(try f.ledger.event(at: seq + 1)).event
    let change = try #require(try f.ledger.event(at: seq + 2)).event
    #expect(access.type == .accessed && change.type == .suspended)
    if case .accessed(let use) = access.payload { #expect(use.status == 200) }
    #expect(change.actor.kind == .key && change.actor.id == access.keyID.description)
}

@Test func repeatedScopesAndRangesAreKeptOnce() throws {
    let f = try LedgerFixture()
    let range = try CIDR.parse("10.0.0.0/8").get()
    let (key, _) = try f.create {
        $0.scopes = ["a", "b", "a"]
        $0.ipAllowlist = [range, range, try! CIDR.parse("::1").get()]
    }
    #expect(key.scopes == ["a", "b"])
    #expect(key.ipAllowlist.map(\.description) == ["10.0.0.0/8", "::1/128"])
    var changes = KeyChanges()
    changes.ipAllowlist = [range, range]
    #expect(try f.key(.update(key.id, changes, expectedVersion: nil)).ipAllowlist == [range])
}

/// The writer's own sweeper, waiting on its timer between checks, expires a key once its
/// expiry passes, and appends nothing while none is due.
@Test func theBackgroundSweeperExpiresAKeyOnItsOwn() throws {
    let f = try LedgerFixture()
    let (key, _) = try f.create { $0.ttlSeconds = 10 }
    try f.reopen(sweepingEvery: 0.05)
    let head = f.headSeq
    usleep(300_000)
    #expect(f.headSeq == head, "the sweeper appended with nothing due")
    f.clock.advance(seconds: 11)
    #expect(try awaitExpired(f.ledger, key.id, seconds: 5))
    let last = try #require(try f.ledger.event(at: f.headSeq))
    #expect(last.event.type == .expired && last.event.actor == .sweeper)
}

/// Keeps eight verifications of `secret` in flight (each answer queues the next) until the
/// returned function is called; it returns whether they all stopped within 10 s.
func sustainVerifications(_ ledger: Ledger, _ secret: String) -> @Sendable () -> Bool {
    let running = Atomic<Bool>(true)
    let inFlight = DispatchGroup()
    @Sendable func next() {
        guard running.load(ordering: .relaxed) else { return inFlight.leave() }
        ledger.verify(secret: secret, VerifyRequest(), context: rootContext) { _ in next() }
    }
    for _ in 0..<8 {
        inFlight.enter()
        next()
    }
    return {
        running.store(false, ordering: .relaxed)
        return inFlight.wait(timeout: .now() + 10) == .success
    }
}

/// A key that expires in 10 s, beside one to verify, in a ledger reopened with a sweeper
/// checking every 50 ms: (the fixture, the key to verify's secret, the expiring key).
func expiryUnderLoadFixture() throws -> (LedgerFixture, String, KeyID) {
    let f = try LedgerFixture()
    let (_, secret) = try f.create()
    let (expiring, _) = try f.create { $0.ttlSeconds = 10 }
    try f.reopen(sweepingEvery: 0.05)
    return (f, secret, expiring.id)
}

extension LedgerFixture {
    /// Closes the ledger and opens it again with the fixture's clock and a sweeper that
    /// checks every `interval` seconds.
    func reopen(sweepingEvery interval: Double) throws {
        ledger.close()
        var options = LedgerOptions()
        options.clock = clock
        options.sweepInterval = interval
        ledger = try Ledger(path: directory.path, options: options)
    }
}

/// Waits up to `seconds` for key `id` to be expired in the projections; true when it is.
func awaitExpired(_ ledger: Ledger, _ id: KeyID, seconds: Double) throws -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while try ledger.key(id)?.status != .expired, ContinuousClock.now < deadline { usleep(50_000) }
    return try ledger.key(id)?.status == .expired
}

/// Under sustained verifications, moves the clock past `id`'s expiry and waits up to 3 s
/// for the sweeper to expire it; true when it did.
func expiresUnderLoad(_ f: LedgerFixture, _ secret: String, _ id: KeyID) throws -> Bool {
    let stop = sustainVerifications(f.ledger, secret)
    usleep(200_000)
    f.clock.advance(seconds: 11)
    let expired = try awaitExpired(f.ledger, id, seconds: 3)
    let stopped = stop()
    #expect(stopped, "the verifications did not stop")
    return expired
}

/// The sweeper's checks are due by the clock, not only when the writer is idle: under
/// commands that never let the queue empty, a key whose expiry passes is still expired
/// within a few sweep intervals.
@Test func theSweeperExpiresAKeyUnderSustainedLoad() throws {
    let (f, secret, id) = try expiryUnderLoadFixture()
    #expect(try expiresUnderLoad(f, secret, id))
}
