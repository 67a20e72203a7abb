import Dispatch
import Events
import Ledger
import Projections
import Synchronization
import Testing

@Test func everyVerifyCodeIsDecidedAndRecorded() throws {
    let f = try LedgerFixture()
    let (key, secret) = try f.create {
        $0.accounts = ["acc_1"]
        $0.ipAllowlist = [try! CIDR.parse("10.0.0.0/8").get(), try! CIDR.parse("2001:db8::/32").get()]
        $0.rateLimits = [RateLimit(limit: 3, windowSeconds: 60)]
        $0.credits = 4
    }
    func check(
        _ request: VerifyRequest, _ code: VerifyCode, _ status: Int, events: UInt64 = 1, secret s: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let before = f.headSeq
        let result = try f.verify(s ?? secret, request)
        #expect(result.code == code, sourceLocation: sourceLocation)
        #expect(result.status == status, sourceLocation: sourceLocation)
        #expect(f.headSeq == before + events, sourceLocation: sourceLocation)
    }
    let ok = VerifyRequest(scope: "accounts:read", account: "acc_1", ip: IPAddress("10.1.2.3"), endpoint: "GET /x")
    try check(ok, .valid, 200)
    var v6 = ok
    v6.ip = IPAddress("2001:db8::5")
    try check(v6, .valid, 200)
    try check(VerifyRequest(scope: "accounts:read", ip: IPAddress("192.168.0.1")), .ipNotAllowed, 403)
    try check(VerifyRequest(scope: "accounts:read"), .ipNotAllowed, 403)
    try check(VerifyRequest(scope: "accounts:write", ip: IPAddress("10.0.0.1")), .insufficientScope, 403)
    try check(VerifyRequest(account: "acc_2", ip: IPAddress("10.0.0.1")), .notFound, 404)
    try check(ok, .valid, 200)
    let limited = try f.verify(secret, ok)
    #expect(limited.code == .rateLimited && limited.status == 429)
    #expect((limited.retryAfterSeconds ?? 0) >= 1 && limited.rateLimit?.remaining == 0)
    f.clock.advance(seconds: 121)
    var expensive = ok
    expensive.cost = 5
    try check(expensive, .usageExceeded, 429)
    let granted = try f.verify(secret, ok)
    #expect(granted.code == .valid && granted.key?.credits == 0 && granted.rateLimit?.remaining == 2)
    try check(ok, .usageExceeded, 429)
    // Unknown or malformed secrets: no lookup result, nothing appended.
    try check(ok, .notFound, 401, events: 0, secret: "sk_live_nonsense")
    var rng = SystemRandom()
    try check(ok, .notFound, 401, events: 0, secret: Secret.generate(prefix: "sk_live_", using: &rng))
    _ = try f.run(.addCredits(key.id, amount: 10))
    _ = try f.run(.suspend(key.id, reason: nil))
    try check(ok, .suspended, 401)
    _ = try f.run(.reactivate(key.id))
    _ = try f.run(.revoke(key.id, reason: nil))
    try check(ok, .revoked, 401)
    let (expiring, expiringSecret) = try f.create { $0.ttlSeconds = 5 }
    f.clock.advance(seconds: 6)
    // The first verification after the expiry also records key.expired.
    try check(VerifyRequest(), .expired, 401, events: 2, secret: expiringSecret)
    #expect(try f.ledger.key(expiring.id)?.status == .expired)
    try check(VerifyRequest(), .expired, 401, events: 1, secret: expiringSecret)
}

@Test func grantedAccessesUpdateLastUsedAndRefusalsDoNot() throws {
    let f = try LedgerFixture()
    let (key, secret) = try f.create()
    _ = try f.verify(secret, VerifyRequest(scope: "nope"))
    #expect(try f.ledger.key(key.id)?.lastUsedAt == nil)
    f.clock.advance(seconds: 1)
    _ = try f.verify(secret)
    #expect(try f.ledger.key(key.id)?.lastUsedAt == f.clock.now())
    let event = try #require(try f.ledger.event(at: f.headSeq)).event
    guard case .accessed(let access) = event.payload else {
        Issue.record("not an access")
        return
    }
    #expect(access.code == .valid && access.cost == 1 && event.keyID == key.id)
}

@Test func concurrentVerificationsGrantExactlyTheCredits() throws {
    let f = try LedgerFixture()
    let credits = 300
    let (key, secret) = try f.create { $0.credits = Int64(credits) }
    let granted = Atomic<Int>(0)
    let refused = Atomic<Int>(0)
    let ledger = f.ledger
    DispatchQueue.concurrentPerform(iterations: 16) { _ in
        for _ in 0..<50 {
            let result = try? wait { done in
                ledger.verify(secret: secret, VerifyRequest(), context: rootContext, completion: done)
            }
            if result?.code == .valid { granted.add(1, ordering: .relaxed) }
            if result?.code == .usageExceeded { refused.add(1, ordering: .relaxed) }
        }
    }
    #expect(granted.load(ordering: .relaxed) == credits)
    #expect(refused.load(ordering: .relaxed) == 16 * 50 - credits)
    // The key's object is read from the key-state projection, folded behind the log.
    try f.ledger.awaitProjections()
    #expect(try f.ledger.key(key.id)?.credits == 0)
    #expect(f.headSeq == 1 + 16 * 50)
}

@Test func rateLimitStateSurvivesARestart() throws {
    let f = try LedgerFixture()
    let (_, secret) = try f.create {
        $0.rateLimits = [RateLimit(limit: 2, windowSeconds: 3600), RateLimit(limit: 100, windowSeconds: 1)]
    }
    #expect(try f.verify(secret).code == .valid)
    #expect(try f.verify(secret).code == .valid)
    try f.reopen()
    #expect(try f.verify(secret).code == .rateLimited)
    try f.ledger.replay()
    #expect(try f.verify(secret).code == .rateLimited)
    f.clock.advance(seconds: 7200)
    #expect(try f.verify(secret).code == .valid)
}

@Test func theSlidingWindowWeighsThePreviousWindow() {
    let minute: Int64 = 60_000_000
    var w = RateWindow().rolled(to: 0, windowMicros: minute)
    w.current = 10
    let half = w.rolled(to: minute + minute / 2, windowMicros: minute)
    #expect(half.previous == 10 && half.current == 0)
    #expect(half.estimate(at: minute + minute / 2, windowMicros: minute) == 5)
    #expect(w.rolled(to: 3 * minute, windowMicros: minute).estimate(at: 3 * minute, windowMicros: minute) == 0)
}
