import Events
import Ledger
import Projections
import Testing

/// One row: a management credential's state, how its secret matched, the scope its
/// action needs and the address it came from.
struct CredentialCase: Sendable, CustomTestStringConvertible {
    let name: String
    let state: KeyState
    var match: KeyState.SecretMatch = .current
    var scope: String? = "ledger:keys"
    var ip = IPAddress("10.1.2.3")
    let refusal: CredentialCheck.Refusal?

    var testDescription: String { name }
}

private let admin = Sample.key(scopes: ["ledger:keys"]) {
    $0.ipAllowlist = [Sample.cidr("10.0.0.0/8")]
    $0.rateLimits = [RateLimit(limit: 2, windowSeconds: 60)]
    $0.windows = [RateWindow(start: Sample.t0, current: 1)]
    $0.credits = 1
}

private func with(_ change: (inout KeyState) -> Void) -> KeyState {
    var state = admin
    change(&state)
    return state
}

private let credentialCases: [CredentialCase] = [
    CredentialCase(name: "a usable credential", state: admin, refusal: nil),
    CredentialCase(name: "its previous secret in the grace period", state: admin, match: .previous, refusal: nil),
    CredentialCase(
        name: "revoked wins over a retired secret", state: with { $0.status = .revoked }, match: .retired,
        refusal: .revoked),
    CredentialCase(
        name: "a retired secret is expired, before suspended", state: with { $0.status = .suspended },
        match: .retired, refusal: .expired),
    CredentialCase(
        name: "a passed expiry not yet recorded is expired",
        state: with {
            $0.status = .suspended
            $0.expiresAt = Sample.t0
        }, refusal: .expired),
    CredentialCase(
        name: "suspended wins over a refused address", state: with { $0.status = .suspended },
        ip: IPAddress("192.0.2.1"), refusal: .suspended),
    CredentialCase(
        name: "a refused address wins over a missing scope", state: admin, scope: "ledger:audit",
        ip: IPAddress("192.0.2.1"), refusal: .ipNotAllowed),
    CredentialCase(
        name: "the Unix socket's lack of an address fails an allowlist", state: admin, ip: nil,
        refusal: .ipNotAllowed),
    CredentialCase(
        name: "a missing scope wins over the rate limit", state: with { $0.windows[0].current = 2 },
        scope: "ledger:audit", refusal: .lacksScope("ledger:audit")),
    CredentialCase(
        name: "every ledger scope is checked alike", state: admin, scope: "ledger:quotas",
        refusal: .lacksScope("ledger:quotas")),
    CredentialCase(
        name: "no scope asked checks everything else", state: admin, scope: nil, refusal: nil),
    CredentialCase(
        name: "a full window, before spent credits",
        state: with {
            $0.windows[0].current = 2
            $0.credits = 0
        }, refusal: .rateLimited(retryAfterSeconds: 59)),
    CredentialCase(name: "no credits left", state: with { $0.credits = 0 }, refusal: .outOfCredits),
]

@Test(arguments: credentialCases)
func aManagementCredentialIsCheckedInOrder(_ c: CredentialCase) {
    #expect(
        CredentialCheck.check(c.state, match: c.match, scope: c.scope, ip: c.ip, now: Sample.seconds(1)) == c.refusal)
}

/// The credential check is not the verification decision: a request a gateway's
/// verification would refuse for an account is no concern of administration, and a
/// management refusal names what to fix in the API's terms.
@Test func theCredentialCheckIsNotTheVerifyDecision() {
    let scoped = with { $0.accounts = ["acc_1"] }
    #expect(
        CredentialCheck.check(
            scoped, match: .current, scope: "ledger:keys", ip: IPAddress("10.0.0.1"), now: Sample.seconds(1)) == nil)
    #expect(
        VerifyDecision.check(
            scoped, match: .current,
            request: VerifyRequest(scope: "ledger:keys", account: "acc_2", ip: IPAddress("10.0.0.1")),
            now: Sample.seconds(1)) == .notFound)
    #expect(CredentialCheck.Refusal.revoked.error == .unauthorized("the credential is revoked"))
    #expect(
        CredentialCheck.Refusal.lacksScope("ledger:audit").error
            == .forbidden("the credential lacks the scope ledger:audit"))
    #expect(
        CredentialCheck.Refusal.rateLimited(retryAfterSeconds: 7).error
            == .rateLimited("the credential is over its rate limit", retryAfterSeconds: 7))
}
