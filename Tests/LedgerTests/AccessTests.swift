import Events
import Ledger
import Projections
import Testing

/// What ``Access`` comes to: granted (bound to an owner, or to none), or refused.
enum AccessOutcome: Equatable, Sendable, CustomStringConvertible {
    case granted(owner: String?)
    case refused(LedgerError)

    var description: String {
        switch self {
        case .granted(let owner): "granted(\(owner ?? "any owner"))"
        case .refused(let error): "refused(\(error))"
        }
    }
}

/// One row: who asks (a ledger key's scopes, or an administrator), what, about which key.
struct AccessCase: Sendable, CustomTestStringConvertible {
    let name: String
    /// nil: the root token.
    let scopes: [String]?
    let action: Action
    var target: KeyState? = nil
    let expected: AccessOutcome

    var testDescription: String { name }
}

private let keys = ["ledger:keys"]
private let keysAndQuotas = ["ledger:keys", "ledger:quotas"]
private let child = Sample.key(2, scopes: ["accounts:read"]) {
    $0.rateLimits = [RateLimit(limit: 100, windowSeconds: 60)]
    $0.expiresAt = Sample.seconds(3600)
    $0.credits = 10
}
private let auditor = Sample.key(3, scopes: ["ledger:audit"])
private let foreign = Sample.key(4, owner: "org_b")

private func changes(_ configure: (inout KeyChanges) -> Void) -> KeyChanges {
    var changes = KeyChanges()
    configure(&changes)
    return changes
}

private func spec(owner: String = "org_a", scopes: [String] = []) -> KeySpec {
    var spec = KeySpec(owner: owner, name: "new")
    spec.scopes = scopes
    return spec
}

private let bound = AccessOutcome.granted(owner: "org_a")

private let accessCases: [AccessCase] = [
    AccessCase(name: "root may do anything", scopes: nil, action: .readEvents, expected: .granted(owner: nil)),
    AccessCase(
        name: "root rotates a key holding ledger:audit", scopes: nil, action: .rotateKey(auditor.id), target: auditor,
        expected: .granted(owner: nil)),
    AccessCase(
        name: "a key without ledger:keys manages nothing", scopes: ["ledger:audit"], action: .listKeys(owner: nil),
        expected: .refused(.forbidden("the credential lacks the scope ledger:keys"))),
    AccessCase(
        name: "ledger:keys lists its owner's keys", scopes: keys, action: .listKeys(owner: nil), expected: bound),
    AccessCase(
        name: "nor another owner's", scopes: keys, action: .listKeys(owner: "org_b"),
        expected: .refused(.forbidden("this credential may only list keys of owner org_a"))),
    AccessCase(
        name: "ledger:audit reads its owner's audit log", scopes: ["ledger:audit"], action: .readAudit(owner: "org_a"),
        expected: bound),
    AccessCase(
        name: "not another owner's", scopes: ["ledger:audit"], action: .readAudit(owner: "org_b"),
        expected: .refused(.forbidden("this credential may only read the audit log of owner org_a"))),
    AccessCase(
        name: "ledger:audit reads the checkpoints", scopes: ["ledger:audit"], action: .readCheckpoints,
        expected: bound),
    AccessCase(
        name: "checkpoints need ledger:audit", scopes: keys, action: .readCheckpoints,
        expected: .refused(.forbidden("the credential lacks the scope ledger:audit"))),
    AccessCase(
        name: "an inclusion proof is bound to the owner", scopes: ["ledger:audit"], action: .proveInclusion(seq: 3),
        expected: bound),
    AccessCase(
        name: "ledger:audit exports its owner's events", scopes: ["ledger:audit"], action: .exportAudit(owner: nil),
        expected: bound),
    AccessCase(
        name: "not another owner's export", scopes: ["ledger:audit"], action: .exportAudit(owner: "org_b"),
        expected: .refused(.forbidden("this credential may only read the audit log of owner org_a"))),
    AccessCase(
        name: "history needs ledger:audit", scopes: keys, action: .readKeyHistory(child.id), target: child,
        expected: .refused(.forbidden("the credential lacks the scope ledger:audit"))),
    AccessCase(
        name: "a key of another owner", scopes: keys, action: .readKey(foreign.id), target: foreign,
        expected: .refused(.forbidden("key \(foreign.id) belongs to another owner"))),
    AccessCase(
        name: "no such key, once the credential is known good", scopes: keys, action: .readKey(child.id),
        expected: .refused(.notFound("no key \(child.id)"))),
    AccessCase(
        name: "the whole log is the administrators'", scopes: LedgerScope.allCases.map(\.rawValue),
        action: .readEvents,
        expected: .refused(.forbidden("only the root token or the Unix socket may read the whole log"))),
    AccessCase(
        name: "so is the chain check", scopes: keys, action: .checkChain,
        expected: .refused(.forbidden("only the root token or the Unix socket may check the chain"))),
    AccessCase(
        name: "metrics need their scope", scopes: keys, action: .readMetrics,
        expected: .refused(.forbidden("the credential lacks the scope ledger:metrics"))),
    AccessCase(name: "create for its owner", scopes: keys, action: .createKey(spec()), expected: bound),
    AccessCase(
        name: "create for another owner", scopes: keys, action: .createKey(spec(owner: "org_b")),
        expected: .refused(.forbidden("this credential may only create keys for owner org_a"))),
    AccessCase(
        name: "create handing on a scope it holds", scopes: keys, action: .createKey(spec(scopes: ["ledger:keys"])),
        expected: bound),
    AccessCase(
        name: "create granting ledger:audit it lacks", scopes: keys, action: .createKey(spec(scopes: ["ledger:audit"])),
        expected: .refused(.forbidden("a ledger key cannot grant the scope ledger:audit, which it does not hold"))),
    AccessCase(
        name: "every ledger: scope alike, ledger:metrics too", scopes: keys,
        action: .createKey(spec(scopes: ["ledger:metrics"])),
        expected: .refused(.forbidden("a ledger key cannot grant the scope ledger:metrics, which it does not hold"))),
    AccessCase(
        name: "patch granting ledger:webhooks it lacks", scopes: keys,
        action: .updateKey(child.id, changes { $0.scopes = ["ledger:webhooks"] }), target: child,
        expected: .refused(.forbidden("a ledger key cannot grant the scope ledger:webhooks, which it does not hold"))),
    AccessCase(
        name: "rotate a key holding ledger:audit it lacks (it would get the secret)", scopes: keys,
        action: .rotateKey(auditor.id), target: auditor,
        expected: .refused(
            .forbidden("key \(auditor.id) holds the scope ledger:audit, which this credential does not hold"))),
    AccessCase(
        name: "reactivate such a key", scopes: keys, action: .reactivateKey(auditor.id), target: auditor,
        expected: .refused(
            .forbidden("key \(auditor.id) holds the scope ledger:audit, which this credential does not hold"))),
    AccessCase(
        name: "patch such a key, even a rename", scopes: keys,
        action: .updateKey(auditor.id, changes { $0.name = "x" }), target: auditor,
        expected: .refused(
            .forbidden("key \(auditor.id) holds the scope ledger:audit, which this credential does not hold"))),
    AccessCase(
        name: "add credits to such a key", scopes: ["ledger:quotas"], action: .addCredits(auditor.id, amount: 1),
        target: auditor,
        expected: .refused(
            .forbidden("key \(auditor.id) holds the scope ledger:audit, which this credential does not hold"))),
    AccessCase(
        name: "suspending such a key takes away only", scopes: keys, action: .suspendKey(auditor.id), target: auditor,
        expected: bound),
    AccessCase(
        name: "so does revoking it", scopes: keys, action: .revokeKey(auditor.id), target: auditor, expected: bound),
    AccessCase(
        name: "rotate a key holding what the caller holds", scopes: ["ledger:keys", "ledger:audit"],
        action: .rotateKey(auditor.id), target: auditor, expected: bound),
    AccessCase(name: "rotate a plain key", scopes: keys, action: .rotateKey(child.id), target: child, expected: bound),
    AccessCase(
        name: "credits need ledger:quotas", scopes: keys, action: .addCredits(child.id, amount: 1_000_000),
        target: child, expected: .refused(.forbidden("the credential lacks the scope ledger:quotas"))),
    AccessCase(
        name: "ledger:quotas adds credits", scopes: ["ledger:quotas"], action: .addCredits(child.id, amount: 5),
        target: child, expected: bound),
    AccessCase(
        name: "removing rate limits needs ledger:quotas", scopes: keys,
        action: .updateKey(child.id, changes { $0.rateLimits = [] }), target: child,
        expected: .refused(.forbidden("loosening rateLimits needs the scope ledger:quotas"))),
    AccessCase(
        name: "raising a limit needs it", scopes: keys,
        action: .updateKey(child.id, changes { $0.rateLimits = [RateLimit(limit: 1000, windowSeconds: 60)] }),
        target: child, expected: .refused(.forbidden("loosening rateLimits needs the scope ledger:quotas"))),
    AccessCase(
        name: "clearing the expiry needs it", scopes: keys,
        action: .updateKey(child.id, changes { $0.expiresAt = .some(nil) }), target: child,
        expected: .refused(.forbidden("loosening expiresAt needs the scope ledger:quotas"))),
    AccessCase(
        name: "extending the expiry needs it", scopes: keys,
        action: .updateKey(
            child.id,
            changes {
                $0.expiresAt = .some(Sample.seconds(7200))
                $0.rateLimits = []
            }), target: child,
        expected: .refused(.forbidden("loosening rateLimits, expiresAt needs the scope ledger:quotas"))),
    AccessCase(
        name: "with ledger:quotas, loosening is granted", scopes: keysAndQuotas,
        action: .updateKey(
            child.id,
            changes {
                $0.expiresAt = .some(nil)
                $0.rateLimits = []
            }), target: child, expected: bound),
    AccessCase(
        name: "tightening needs only ledger:keys", scopes: keys,
        action: .updateKey(
            child.id,
            changes {
                $0.expiresAt = .some(Sample.seconds(60))
                $0.rateLimits = [RateLimit(limit: 10, windowSeconds: 60)]
            }), target: child, expected: bound),
    AccessCase(
        name: "setting credits needs ledger:quotas", scopes: keys, action: .setCredits(child.id, balance: 1),
        target: child, expected: .refused(.forbidden("the credential lacks the scope ledger:quotas"))),
    AccessCase(
        name: "subtracting credits needs only ledger:keys", scopes: keys, action: .subtractCredits(child.id, amount: 1),
        target: child, expected: bound),
    AccessCase(
        name: "moving a key to a plan needs ledger:quotas", scopes: keys,
        action: .updateKey(child.id, changes { $0.plan = .some("pro") }), target: child,
        expected: .refused(.forbidden("loosening plan needs the scope ledger:quotas"))),
    AccessCase(
        name: "only administrators change plans", scopes: keysAndQuotas, action: .putPlan("pro", PlanChanges()),
        expected: .refused(.forbidden("only the root token or the Unix socket may change plans"))),
    AccessCase(
        name: "ledger:quotas changes its own owner's limits", scopes: ["ledger:quotas"],
        action: .putOwner("org_a", { var c = OwnerChanges(); c.credits = .some(5); return c }()), expected: bound),
    AccessCase(
        name: "but no other owner's", scopes: ["ledger:quotas"], action: .putOwner("org_b", OwnerChanges()),
        expected: .refused(.forbidden("this credential may only change owner org_a"))),
    AccessCase(
        name: "nor its own owner's plan", scopes: ["ledger:quotas"],
        action: .putOwner("org_a", { var c = OwnerChanges(); c.plan = .some("pro"); return c }()),
        expected: .refused(.forbidden("only the root token or the Unix socket may change an owner's plan"))),
    AccessCase(
        name: "ledger:keys alone may not change an owner", scopes: keys, action: .putOwner("org_a", OwnerChanges()),
        expected: .refused(.forbidden("the credential lacks the scope ledger:quotas"))),
    AccessCase(
        name: "a key without selfRotate may not rotate itself", scopes: [], action: .rotateSelf(allowed: false),
        expected: .refused(.forbidden("key \(Sample.key(1).id) may not rotate itself: it was not given selfRotate"))),
    AccessCase(
        name: "a key with selfRotate rotates itself, no scope needed", scopes: [], action: .rotateSelf(allowed: true),
        expected: bound),
]

@Test(arguments: accessCases)
func aPrincipalsRightIsDecidedOnce(_ c: AccessCase) {
    let use = Access.Use(ip: IPAddress("10.0.0.1"), endpoint: "POST /v1/keys/{id}/rotate", latencyMicros: 3)
    let caller: Access.Caller
    if let scopes = c.scopes {
        caller = .key(Sample.key(1, scopes: scopes), .current)
    } else {
        caller = .administrator(Actor(kind: .root, id: "root"))
    }
    let outcome: AccessOutcome
    do {
        let grant = try Access.authorize(caller, c.action, target: c.target, use: use, now: Sample.seconds(1))
        outcome = .granted(owner: grant.owner)
        // A ledger key's grant records its use once, as the key; an administrator's none.
        if c.scopes == nil {
            #expect(grant.events.isEmpty && grant.actor == Actor(kind: .root, id: "root"))
        } else {
            #expect(grant.actor == Actor(kind: .key, id: Sample.key(1).id.description))
            guard case .accessed(let access) = grant.events.first, grant.events.count == 1 else {
                Issue.record("no single key.accessed")
                return
            }
            #expect(access.code == .valid && access.endpoint == use.endpoint && access.latencyMicros == 3)
        }
    } catch {
        outcome = .refused(error)
    }
    #expect(outcome == c.expected)
}

/// The credential is judged before the target: a refused credential learns nothing
/// about which keys exist.
@Test func aRefusedCredentialLearnsNothingOfTheTarget() {
    let revoked = Sample.key(1, scopes: keys) { $0.status = .revoked }
    let use = Access.Use(ip: nil, endpoint: "GET /v1/keys/{id}")
    for target in [nil, foreign] {
        #expect(throws: LedgerError.unauthorized("the credential is revoked")) {
            try Access.authorize(
                .key(revoked, .current), .readKey(foreign.id), target: target, use: use, now: Sample.t0)
        }
    }
    let lapsed = Sample.key(1, scopes: keys) { $0.expiresAt = Sample.t0 }
    #expect(throws: LedgerError.unauthorized("the credential is expired")) {
        try Access.authorize(.key(lapsed, .current), .listKeys(owner: nil), target: nil, use: use, now: Sample.t0)
    }
}
