import Events
import Ledger
import Projections
import Testing

@Test func verifyRequiresEveryScopeOfScopes() throws {
    let f = try LedgerFixture()
    let (_, secret) = try f.create { $0.scopes = ["accounts:read", "accounts:write"] }
    #expect(try f.verify(secret, VerifyRequest(scopes: ["accounts:read", "accounts:write"])).code == .valid)
    let missing = try f.verify(secret, VerifyRequest(scope: "accounts:read", scopes: ["accounts:read", "payments:read"]))
    #expect(missing.code == .insufficientScope && missing.status == 403)
}

@Test func aKeyOfAnotherEnvironmentIsAnUnknownSecretButItsUseIsRecorded() throws {
    let f = try LedgerFixture()
    let (key, secret) = try f.create { $0.environment = "test" }
    #expect(try f.verify(secret, VerifyRequest(environment: "test")).code == .valid)
    let before = f.headSeq
    let other = try f.verify(secret, VerifyRequest(environment: "live"))
    #expect(other.code == .notFound && other.status == 401 && other.key == nil && other.rateLimits.isEmpty)
    #expect(f.headSeq == before + 1)
    let event = try #require(try f.ledger.event(at: f.headSeq)).event
    #expect(event.keyID == key.id)
    if case .accessed(let access) = event.payload { #expect(access.code == .notFound) } else { Issue.record("no access") }
}

@Test func theAnswerListsEveryLimitAndKeepsTheTightest() throws {
    let f = try LedgerFixture()
    let (_, secret) = try f.create {
        $0.rateLimits = [
            RateLimit(name: "burst", limit: 2, windowSeconds: 1), RateLimit(name: "hour", limit: 100, windowSeconds: 3600),
        ]
    }
    let answer = try f.verify(secret)
    #expect(answer.rateLimits.map(\.name) == ["burst", "hour"])
    #expect(answer.rateLimits.map(\.remaining) == [1, 99])
    #expect(answer.rateLimits.allSatisfy { $0.scope == .key })
    #expect(answer.rateLimit?.name == "burst" && answer.rateLimit?.remaining == 1)
}

@Test func creditsCanBeSetAndSubtracted() throws {
    let f = try LedgerFixture()
    let (key, secret) = try f.create { $0.credits = 5 }
    #expect(try f.key(.setCredits(key.id, balance: 50)).credits == 50)
    #expect(try f.key(.subtractCredits(key.id, amount: 20)).credits == 30)
    expectError(.conflict("key \(key.id) holds 30 credits, fewer than 31")) {
        _ = try f.run(.subtractCredits(key.id, amount: 31))
    }
    let (unlimited, _) = try f.create()
    expectError(.conflict("key \(unlimited.id) has unlimited credits")) {
        _ = try f.run(.subtractCredits(unlimited.id, amount: 1))
    }
    #expect(try f.key(.setCredits(unlimited.id, balance: 3)).credits == 3)
    #expect(try f.verify(secret).key?.credits == 29)
    // The fold restores what the commands decided.
    try f.ledger.replay()
    #expect(try f.ledger.key(key.id)?.credits == 29)
    #expect(try f.ledger.key(unlimited.id)?.credits == 3)
}

@Test func patchingRateLimitsKeepsTheWindowsThatDidNotChange() throws {
    let f = try LedgerFixture()
    let hourly = RateLimit(name: "hour", limit: 3, windowSeconds: 3600)
    let (key, secret) = try f.create { $0.rateLimits = [hourly] }
    for _ in 0..<3 { #expect(try f.verify(secret).code == .valid) }
    #expect(try f.verify(secret).code == .rateLimited)
    var changes = KeyChanges()
    changes.rateLimits = [hourly, RateLimit(name: "day", limit: 1000, windowSeconds: 86_400)]
    _ = try f.run(.update(key.id, changes, expectedVersion: nil))
    // The hour's three requests still count: the unrelated new limit reset nothing.
    #expect(try f.verify(secret).code == .rateLimited)
    changes.rateLimits = [RateLimit(name: "hour", limit: 5, windowSeconds: 3600)]
    _ = try f.run(.update(key.id, changes, expectedVersion: nil))
    // A new limit on the same window applies to the requests already counted in it.
    #expect(try f.verify(secret).rateLimit?.remaining == 1)
    changes.rateLimits = [RateLimit(name: "hour", limit: 5, windowSeconds: 7200)]
    _ = try f.run(.update(key.id, changes, expectedVersion: nil))
    #expect(try f.verify(secret).rateLimit?.remaining == 4)
}

@Test func rateLimitNamesAreCheckedAndUnique() throws {
    let f = try LedgerFixture()
    expectError(.invalid(field: "rateLimits[1].name", reason: "repeats the name hour")) {
        _ = try f.create {
            $0.rateLimits = [
                RateLimit(name: "hour", limit: 1, windowSeconds: 60), RateLimit(name: "hour", limit: 2, windowSeconds: 60),
            ]
        }
    }
    expectError(.invalid(field: "rateLimits[0].name", reason: "must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")) {
        _ = try f.create { $0.rateLimits = [RateLimit(name: "no spaces", limit: 1, windowSeconds: 60)] }
    }
}
