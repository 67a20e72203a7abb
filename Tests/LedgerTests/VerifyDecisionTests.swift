import Events
import Ledger
import Projections
import Testing

/// One row of the verification table: a key's state, how the secret matched, the
/// request and the time, and the code API.md says comes out.
struct VerifyCase: Sendable, CustomTestStringConvertible {
    let name: String
    let state: KeyState
    var match: KeyState.SecretMatch = .current
    var request = VerifyRequest(scope: "accounts:read", account: "acc_1", ip: IPAddress("10.1.2.3"))
    var now = Sample.seconds(1)
    let code: VerifyCode

    var testDescription: String { name }
}

private let fenced = Sample.key {
    $0.accounts = ["acc_1"]
    $0.ipAllowlist = [Sample.cidr("10.0.0.0/8")]
    $0.rateLimits = [RateLimit(limit: 2, windowSeconds: 60)]
    $0.windows = [RateWindow(start: Sample.t0, current: 1)]
    $0.credits = 3
}

private func with(_ change: (inout KeyState) -> Void) -> KeyState {
    var state = fenced
    change(&state)
    return state
}

/// Every code, and for each the one that must win when a later check would fail too.
private let verifyCases: [VerifyCase] = [
    VerifyCase(name: "a key within every limit is valid", state: fenced, code: .valid),
    VerifyCase(name: "the previous secret in its grace period is valid", state: fenced, match: .previous, code: .valid),
    VerifyCase(
        name: "revoked wins over a retired secret and a passed expiry",
        state: with {
            $0.status = .revoked
            $0.expiresAt = Sample.t0
        }, match: .retired, code: .revoked),
    VerifyCase(
        name: "a retired previous secret is expired, before suspended",
        state: with { $0.status = .suspended }, match: .retired, code: .expired),
    VerifyCase(name: "a recorded expiry is expired", state: with { $0.status = .expired }, code: .expired),
    VerifyCase(
        name: "a passed expiry not yet recorded is expired at once", state: with { $0.expiresAt = Sample.seconds(1) },
        code: .expired),
    VerifyCase(
        name: "a passed expiry wins over suspended",
        state: with {
            $0.status = .suspended
            $0.expiresAt = Sample.t0
        }, code: .expired),
    VerifyCase(
        name: "an expiry still ahead changes nothing", state: with { $0.expiresAt = Sample.seconds(2) }, code: .valid),
    VerifyCase(
        name: "suspended wins over a refused address", state: with { $0.status = .suspended },
        request: VerifyRequest(scope: "accounts:read", ip: IPAddress("192.0.2.1")), code: .suspended),
    VerifyCase(
        name: "an address outside the allowlist wins over a missing scope", state: fenced,
        request: VerifyRequest(scope: "accounts:write", ip: IPAddress("192.0.2.1")), code: .ipNotAllowed),
    VerifyCase(
        name: "no address at all fails an allowlist", state: fenced, request: VerifyRequest(scope: "accounts:read"),
        code: .ipNotAllowed),
    VerifyCase(
        name: "a missing scope wins over a foreign account", state: fenced,
        request: VerifyRequest(scope: "accounts:write", account: "acc_2", ip: IPAddress("10.0.0.1")),
        code: .insufficientScope),
    VerifyCase(
        name: "an account outside the key's accounts is not found, before the rate limit",
        state: with { $0.windows = [RateWindow(start: Sample.t0, current: 2)] },
        request: VerifyRequest(account: "acc_2", ip: IPAddress("10.0.0.1")), code: .notFound),
    VerifyCase(
        name: "no accounts means every account", state: with { $0.accounts = [] },
        request: VerifyRequest(account: "acc_9", ip: IPAddress("10.0.0.1")), code: .valid),
    VerifyCase(
        name: "a full window is rate limited, before spent credits",
        state: with {
            $0.windows = [RateWindow(start: Sample.t0, current: 2)]
            $0.credits = 0
        }, code: .rateLimited),
    VerifyCase(
        name: "the previous window still counts in the sliding estimate",
        state: with { $0.windows = [RateWindow(start: Sample.t0 - 60_000_000, current: 2)] }, code: .rateLimited),
    VerifyCase(
        name: "two windows later the limit has room again",
        state: with { $0.windows = [RateWindow(start: Sample.t0 - 60_000_000, current: 2)] },
        now: Sample.seconds(61), code: .valid),
    VerifyCase(
        name: "credits below the cost are usage exceeded", state: fenced,
        request: VerifyRequest(account: "acc_1", ip: IPAddress("10.0.0.1"), cost: 4), code: .usageExceeded),
    VerifyCase(
        name: "a cost of 0 passes with no credits left", state: with { $0.credits = 0 },
        request: VerifyRequest(ip: IPAddress("10.0.0.1"), cost: 0), code: .valid),
]

@Test(arguments: verifyCases)
func verifyDecidesEachCodeInAPIOrder(_ c: VerifyCase) {
    #expect(VerifyDecision.check(c.state, match: c.match, request: c.request, now: c.now) == c.code)
    let decision = VerifyDecision.decide(c.state, match: c.match, request: c.request, latencyMicros: 7, now: c.now)
    #expect(decision.code == c.code)
    // Always exactly one access record, last, carrying the code; key.expired before it
    // only when a passed expiry was not yet recorded.
    guard case .accessed(let access) = decision.events.last else {
        Issue.record("no key.accessed")
        return
    }
    #expect(access.code == c.code && access.latencyMicros == 7 && access.cost == c.request.cost)
    let unrecorded = c.state.status != .revoked && c.state.status != .expired && (c.state.expiresAt ?? .max) <= c.now
    #expect(decision.events.count == (unrecorded ? 2 : 1))
    if unrecorded { #expect(decision.events.first == .expired) }
}

@Test(arguments: [
    (VerifyCode.valid, 200), (.notFound, 404), (.expired, 401), (.revoked, 401), (.suspended, 401),
    (.insufficientScope, 403), (.ipNotAllowed, 403), (.rateLimited, 429), (.usageExceeded, 429),
])
func everyCodeHasTheGatewayStatusOfAPIMd(_ code: VerifyCode, _ status: Int) {
    #expect(VerifyDecision.status(for: code) == status)
}

@Test func aRateLimitedResultSaysWhenToRetry() {
    let full = with { $0.windows = [RateWindow(start: Sample.t0, current: 2)] }
    let result = VerifyDecision.result(code: .rateLimited, after: full, request: VerifyRequest(), now: Sample.seconds(15))
    #expect(result.status == 429 && result.rateLimit?.remaining == 0 && result.retryAfterSeconds == 45)
    let granted = VerifyDecision.result(code: .valid, after: fenced, request: VerifyRequest(), now: Sample.seconds(15))
    #expect(granted.retryAfterSeconds == nil && granted.rateLimit?.remaining == 1)
}
