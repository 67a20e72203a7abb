import Events
import Foundation
import Ledger
import Projections
import Store
import Testing

private let day: Int64 = 86_400
private let leads = [14 * day, 3 * day, day]
private let sweeper = CommandContext(actor: .sweeper)

extension LedgerFixture {
    func warn() throws -> Int {
        guard case .warned(let count) = try run(.warnExpiring(leadSeconds: leads), context: sweeper) else { return -1 }
        return count
    }

    /// The `key.expiring` events of the log: (key, leadSeconds, expiresAt).
    func warnings() throws -> [(KeyID, Int64, Int64)] {
        try ledger.events(after: 0, limit: 10_000).compactMap { stored in
            guard case .expiring(let at, let lead) = stored.event.payload else { return nil }
            return (stored.event.keyID, lead, at)
        }
    }

    func events(of id: KeyID) throws -> [EventType] {
        try ledger.events(after: 0, limit: 10_000).filter { $0.event.keyID == id }.map(\.event.type)
    }
}

/// `key.expiring` comes once per lead time, at the lead time (the clock moved by hand),
/// and a replay, or a rebuild of the projection that remembers the warnings, gives none twice.
@Test func expiryWarningsComeOncePerLeadTimeAlsoAfterAReplay() throws {
    let f = try LedgerFixture()
    let (key, _) = try f.create { $0.expiresAt = f.clock.now() + 15 * day * 1_000_000 }
    #expect(try f.warn() == 0)
    f.clock.advance(seconds: Double(day) - 1)
    #expect(try f.warn() == 0)
    f.clock.advance(seconds: 2)
    #expect(try f.warn() == 1)
    #expect(try f.warn() == 0)
    f.clock.advance(seconds: Double(11 * day) - 2)
    #expect(try f.warn() == 0)
    f.clock.advance(seconds: 2)
    #expect(try f.warn() == 1)
    try f.ledger.replay()
    #expect(try f.warn() == 0)
    f.clock.advance(seconds: Double(2 * day))
    #expect(try f.warn() == 1)
    try f.forget("notifications", tables: NotificationProjection.tableSpecs.map(\.name))
    try f.reopen()
    #expect(try f.warn() == 0)
    let given = try f.warnings()
    #expect(given.map(\.0) == [key.id, key.id, key.id])
    #expect(given.map(\.1) == [14 * day, 3 * day, day])
    #expect(given.allSatisfy { $0.2 == key.expiresAt })
    // The warnings are notices: the key's version (If-Match) does not move.
    try f.ledger.awaitProjections()
    #expect(try f.ledger.key(key.id)?.version == key.version)
}

/// A key created within several lead times gets the shortest one due, then the next;
/// a new expiry starts over; revoked keys are not warned of.
@Test func expiryWarningsFollowTheCurrentExpiry() throws {
    let f = try LedgerFixture()
    let (soon, _) = try f.create { $0.expiresAt = f.clock.now() + 2 * day * 1_000_000 }
    let (revoked, _) = try f.create { $0.expiresAt = f.clock.now() + 2 * day * 1_000_000 }
    _ = try f.key(.revoke(revoked.id, reason: nil))
    #expect(try f.warn() == 1)
    #expect(try f.warnings().map(\.1) == [3 * day])
    var changes = KeyChanges()
    changes.expiresAt = .some(f.clock.now() + 10 * day * 1_000_000)
    _ = try f.key(.update(soon.id, changes, expectedVersion: nil))
    #expect(try f.warn() == 1)
    #expect(try f.warnings().map(\.1) == [3 * day, 14 * day])
    #expect(try f.warnings().allSatisfy { $0.0 == soon.id })
}

/// The writer's sweeper appends the warnings by itself once they are due.
@Test func theSweeperAppendsDueWarnings() throws {
    let directory = TempDirectory()
    defer { directory.remove() }
    let clock = ManualClock()
    var options = LedgerOptions()
    options.clock = clock
    options.sweepInterval = 0.01
    options.expiryWarnings = leads
    let ledger = try Ledger(path: directory.path, options: options)
    defer { ledger.close() }
    var spec = KeySpec(owner: "org_42", name: "soon")
    spec.expiresAt = clock.now() + 20 * 3600 * 1_000_000
    let (key, _) = try wait { done in ledger.createKey(spec, context: rootContext, completion: done) }
    var found: [EventLog.Stored] = []
    for _ in 0..<500 where found.isEmpty {
        usleep(10_000)
        found = try ledger.events(after: 0, limit: 100).filter { $0.event.type == .expiring }
    }
    #expect(found.count == 1)
    #expect(found.first?.event.keyID == key.id)
    #expect(found.first?.event.actor == .sweeper)
    if case .expiring(_, let lead)? = found.first?.event.payload { #expect(lead == day) }
}

@Test(arguments: [LeakPolicy.suspend, .revoke, .notify])
func aReportedLeakFollowsThePolicy(_ policy: LeakPolicy) throws {
    let f = try LedgerFixture()
    let (key, secret) = try f.create()
    let report = LeakReport(
        token: secret, type: "keyledger_key", url: "https://github.com/o/r/blob/x", source: "content")
    guard case .leaks(let labels) = try f.run(.reportLeaks([report], policy: policy)) else {
        Issue.record("no leaks outcome")
        return
    }
    #expect(labels == [true])
    try f.ledger.awaitProjections()
    let after = try #require(try f.ledger.key(key.id))
    switch policy {
    case .suspend:
        #expect(after.status == .suspended)
        #expect(try f.events(of: key.id) == [.created, .leaked, .suspended])
    case .revoke:
        #expect(after.status == .revoked)
        #expect(try f.events(of: key.id) == [.created, .leaked, .revoked])
    case .notify:
        #expect(after.status == .active)
        #expect(try f.events(of: key.id) == [.created, .leaked])
    }
    let leaked = try f.ledger.events(after: 0, limit: 100).first { $0.event.type == .leaked }
    #expect(leaked?.event.payload == .leaked(url: report.url, source: "content"))
}

/// Foreign and malformed tokens are false positives and change nothing; so is a secret
/// of a revoked key; a ledger key may not report.
@Test func foreignTokensAreFalsePositivesAndChangeNothing() throws {
    let f = try LedgerFixture()
    let (key, secret) = try f.create()
    let (gone, goneSecret) = try f.create()
    _ = try f.key(.revoke(gone.id, reason: nil))
    let head = f.headSeq
    var badChecksum = secret
    badChecksum.removeLast()
    badChecksum.append(secret.last == "A" ? "B" : "A")
    let tokens = [
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a", badChecksum, "", goneSecret,
        Ledger.mintSecret(prefix: "sk_live_").secret,
    ]
    let reports = tokens.map { LeakReport(token: $0, type: "t", url: nil, source: nil) }
    #expect(try f.run(.reportLeaks(reports, policy: .revoke)) == .leaks([false, false, false, false, false]))
    #expect(f.headSeq == head)
    try f.ledger.awaitProjections()
    #expect(try f.ledger.key(key.id)?.status == .active)
}

@Test func webhookCommandsFoldIntoTheProjectionAndSurviveAReplay() throws {
    let f = try LedgerFixture()
    let created = try wait { done in
        f.ledger.createWebhook(
            WebhookSpec(owner: "org_42", url: "https://hooks.example.com/k", eventTypes: ["key.created"]),
            context: rootContext, completion: done)
    }
    #expect(created.owner == "org_42" && created.secretVersion == 1 && created.enabled)
    // An empty change appends nothing.
    let unchanged = try wait { done in
        f.ledger.submitWebhook(.update(created.id, WebhookChanges()), context: rootContext, completion: done)
    }
    #expect(unchanged == created)
    var changes = WebhookChanges()
    changes.eventTypes = ["*"]
    changes.description = .some("all")
    let updated = try wait { done in
        f.ledger.submitWebhook(.update(created.id, changes), context: rootContext, completion: done)
    }
    #expect(updated.eventTypes == ["*"] && updated.description == "all" && updated.version == 2)
    let rotated = try wait { done in
        f.ledger.submitWebhook(.rotateSecret(created.id), context: rootContext, completion: done)
    }
    #expect(rotated.secretVersion == 2)
    expectError(.invalid(field: "url", reason: "must be an https:// URL")) {
        _ = try wait { done in
            f.ledger.createWebhook(
                WebhookSpec(owner: nil, url: "ftp://x", eventTypes: ["*"]), context: rootContext, completion: done)
        }
    }
    expectError(.invalid(field: "eventTypes", reason: "key.nope is not an event type (or use [\"*\"] alone)")) {
        _ = try wait { done in
            f.ledger.createWebhook(
                WebhookSpec(owner: nil, url: "https://x", eventTypes: ["key.nope"]), context: rootContext,
                completion: done)
        }
    }
    // Only the deliverer disables.
    expectError(.invalid(field: "command", reason: "only the deliverer disables a webhook")) {
        _ = try wait { done in
            f.ledger.submitWebhook(.disable(created.id, reason: "x"), context: rootContext, completion: done)
        }
    }
    let disabled = try wait { done in
        f.ledger.submitWebhook(
            .disable(created.id, reason: "failing"), context: CommandContext(actor: .deliverer), completion: done)
    }
    #expect(!disabled.enabled && disabled.disabledReason == "failing")
    try f.ledger.awaitProjections()
    let before = try f.ledger.webhook(created.id)
    try f.ledger.replay()
    try f.ledger.awaitProjections()
    #expect(try f.ledger.webhook(created.id) == before)
    _ = try wait { done in f.ledger.submitWebhook(.delete(created.id), context: rootContext, completion: done) }
    try f.ledger.awaitProjections()
    #expect(try f.ledger.webhook(created.id) == nil)
    #expect(try f.ledger.webhooks(owner: "org_42", after: nil, limit: 10).webhooks.isEmpty)
    let types = try f.ledger.events(after: 0, limit: 100).map(\.event.type)
    #expect(types == [.webhookCreated, .webhookUpdated, .webhookSecretRotated, .webhookDisabled, .webhookDeleted])
}

/// An owner's webhooks are bounded: the one past the limit is 409 and appends nothing.
@Test func anOwnerHasAtMostAHundredWebhooks() throws {
    let f = try LedgerFixture()
    for i in 0..<WebhookRules.maxPerOwner {
        _ = try wait { done in
            f.ledger.createWebhook(
                WebhookSpec(owner: "org_1", url: "https://h/\(i)", eventTypes: ["*"]), context: rootContext,
                completion: done)
        }
    }
    let head = f.headSeq
    #expect(throws: LedgerError.self) {
        _ = try wait { done in
            f.ledger.createWebhook(
                WebhookSpec(owner: "org_1", url: "https://h/x", eventTypes: ["*"]), context: rootContext,
                completion: done)
        }
    }
    #expect(f.headSeq == head)
    _ = try wait { done in
        f.ledger.createWebhook(
            WebhookSpec(owner: "org_2", url: "https://h/x", eventTypes: ["*"]), context: rootContext, completion: done)
    }
}

/// Webhook events, warnings and leaks in the log: the projections the writer's folds
/// built equal, byte for byte, the ones a replay builds.
@Test func notificationProjectionsEqualAReplay() throws {
    let f = try LedgerFixture()
    var hooks: [WebhookID] = []
    for i in 0..<5 {
        let hook = try wait { done in
            f.ledger.createWebhook(
                WebhookSpec(owner: i == 0 ? nil : "org_\(i)", url: "https://h/\(i)", eventTypes: ["*"]),
                context: rootContext, completion: done)
        }
        hooks.append(hook.id)
    }
    _ = try wait { done in f.ledger.submitWebhook(.rotateSecret(hooks[1]), context: rootContext, completion: done) }
    _ = try wait { done in f.ledger.submitWebhook(.delete(hooks[2]), context: rootContext, completion: done) }
    var secrets: [String] = []
    for i in 0..<6 {
        let (_, secret) = try f.create { $0.expiresAt = f.clock.now() + Int64(i + 1) * day * 1_000_000 }
        secrets.append(secret)
    }
    #expect(try f.warn() == 6)
    _ = try f.run(
        .reportLeaks(
            secrets.prefix(2).map { LeakReport(token: $0, type: "t", url: nil, source: nil) }, policy: .suspend))
    try f.ledger.awaitProjections()
    let incremental = try f.projectionDump()
    try f.ledger.replay()
    #expect(try f.projectionDump() == incremental)
    #expect(try f.ledger.webhooks(owner: nil, after: nil, limit: 10).webhooks.count == 4)
}
