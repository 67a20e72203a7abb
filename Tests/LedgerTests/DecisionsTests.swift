import Events
import Ledger
import Projections
import Testing

/// What a decision comes to: the event type it makes, nothing, or the kind of refusal
/// (with the field, for bad input).
enum DecisionOutcome: Equatable, Sendable {
    case event(EventType)
    case nothing
    case invalid(field: String)
    case conflict

    init(_ body: () throws(LedgerError) -> EventPayload?) {
        do {
            self = try body().map { .event($0.type) } ?? .nothing
        } catch {
            switch error {
            case .invalid(let field, _): self = .invalid(field: field)
            default: self = .conflict
            }
        }
    }
}

/// One row: a command's decision over a state at a time.
struct DecisionCase: Sendable, CustomTestStringConvertible {
    let name: String
    let decide: @Sendable () -> DecisionOutcome
    let expected: DecisionOutcome

    var testDescription: String { name }
}

private let active = Sample.key()
private let suspended = Sample.key { $0.status = .suspended }
private let revoked = Sample.key { $0.status = .revoked }
private let recordedExpired = Sample.key { $0.status = .expired }
/// Its expiry passed a second before `later`, and no `key.expired` is recorded yet.
private let lapsed = Sample.key { $0.expiresAt = Sample.seconds(9) }
private let later = Sample.seconds(10)
private let limited = Sample.key { $0.credits = 5 }

private func spec(_ configure: (inout KeySpec) -> Void = { _ in }) -> KeySpec {
    var spec = KeySpec(owner: "org_a", name: "CRM Sync")
    configure(&spec)
    return spec
}

private func changes(_ configure: (inout KeyChanges) -> Void) -> KeyChanges {
    var changes = KeyChanges()
    configure(&changes)
    return changes
}

private func create(_ s: KeySpec) -> DecisionOutcome {
    DecisionOutcome { () throws(LedgerError) in try Decisions.create(s, secretDigest: Sample.secret, now: later) }
}

private func update(_ state: KeyState, _ c: KeyChanges, expected: UInt64? = nil) -> DecisionOutcome {
    DecisionOutcome { () throws(LedgerError) in try Decisions.update(state, c, expectedVersion: expected, now: later) }
}

private let decisionCases: [DecisionCase] = [
    DecisionCase(name: "create: a plain key", decide: { create(spec()) }, expected: .event(.created)),
    DecisionCase(
        name: "create: a prefix of our own", decide: { create(spec { $0.prefix = "fk_user_" }) },
        expected: .event(.created)),
    DecisionCase(
        name: "create: kl_root_ is the root token's prefix", decide: { create(spec { $0.prefix = "kl_root_" }) },
        expected: .invalid(field: "prefix")),
    DecisionCase(
        name: "create: every kl_ prefix is reserved", decide: { create(spec { $0.prefix = "kl_" }) },
        expected: .invalid(field: "prefix")),
    DecisionCase(
        name: "create: klx_ is not in the reserved namespace", decide: { create(spec { $0.prefix = "klx_" }) },
        expected: .event(.created)),
    DecisionCase(
        name: "create: a malformed prefix", decide: { create(spec { $0.prefix = "Bad" }) },
        expected: .invalid(field: "prefix")),
    DecisionCase(
        name: "create: an environment becomes the default prefix",
        decide: { create(spec { $0.environment = "Test!" }) }, expected: .invalid(field: "environment")),
    DecisionCase(
        name: "create: every known ledger scope",
        decide: { create(spec { $0.scopes = LedgerScope.allCases.map(\.rawValue) }) }, expected: .event(.created)),
    DecisionCase(
        name: "create: an unknown ledger scope", decide: { create(spec { $0.scopes = ["read", "ledger:admin"] }) },
        expected: .invalid(field: "scopes[1]")),
    DecisionCase(
        name: "create: an expiry in the past", decide: { create(spec { $0.expiresAt = Sample.t0 }) },
        expected: .invalid(field: "expiresAt")),
    DecisionCase(
        name: "create: expiresAt and ttlSeconds both",
        decide: {
            create(
                spec {
                    $0.expiresAt = Sample.seconds(100)
                    $0.ttlSeconds = 5
                })
        }, expected: .invalid(field: "ttlSeconds")),
    DecisionCase(
        name: "update: a rename", decide: { update(active, changes { $0.name = "new" }) }, expected: .event(.updated)),
    DecisionCase(
        name: "update: nothing changes", decide: { update(active, changes { $0.name = "sample" }) },
        expected: .nothing),
    DecisionCase(
        name: "update: a stale If-Match wins over bad input",
        decide: { update(active, changes { $0.name = "" }, expected: 9) }, expected: .conflict),
    DecisionCase(
        name: "update: an unknown ledger scope", decide: { update(active, changes { $0.scopes = ["ledger:root"] }) },
        expected: .invalid(field: "scopes[0]")),
    DecisionCase(
        name: "update: a revoked key", decide: { update(revoked, changes { $0.name = "x" }) }, expected: .conflict),
    DecisionCase(
        name: "update: a recorded expiry", decide: { update(recordedExpired, changes { $0.name = "x" }) },
        expected: .conflict),
    DecisionCase(
        name: "update: a passed expiry not yet recorded cannot be moved back",
        decide: { update(lapsed, changes { $0.expiresAt = .some(Sample.seconds(3600)) }) }, expected: .conflict),
    DecisionCase(
        name: "update: nor removed", decide: { update(lapsed, changes { $0.expiresAt = .some(nil) }) },
        expected: .conflict),
    DecisionCase(
        name: "rotate: an active key",
        decide: {
            DecisionOutcome { () throws(LedgerError) in
                try Decisions.rotate(active, gracePeriodSeconds: 60, secretDigest: Sample.secret, now: later)
            }
        }, expected: .event(.rotated)),
    DecisionCase(
        name: "rotate: a grace period over 7 days",
        decide: {
            DecisionOutcome { () throws(LedgerError) in
                try Decisions.rotate(active, gracePeriodSeconds: 604_801, secretDigest: Sample.secret, now: later)
            }
        }, expected: .invalid(field: "gracePeriodSeconds")),
    DecisionCase(
        name: "rotate: a passed expiry not yet recorded",
        decide: {
            DecisionOutcome { () throws(LedgerError) in
                try Decisions.rotate(lapsed, gracePeriodSeconds: 0, secretDigest: Sample.secret, now: later)
            }
        }, expected: .conflict),
    DecisionCase(
        name: "suspend: an active key",
        decide: {
            DecisionOutcome { () throws(LedgerError) in try Decisions.suspend(active, reason: nil, now: later) }
        },
        expected: .event(.suspended)),
    DecisionCase(
        name: "suspend: a suspended key",
        decide: {
            DecisionOutcome { () throws(LedgerError) in try Decisions.suspend(suspended, reason: nil, now: later) }
        },
        expected: .conflict),
    DecisionCase(
        name: "suspend: a passed expiry not yet recorded",
        decide: {
            DecisionOutcome { () throws(LedgerError) in try Decisions.suspend(lapsed, reason: nil, now: later) }
        },
        expected: .conflict),
    DecisionCase(
        name: "suspend: a reason too long, before the state",
        decide: {
            DecisionOutcome { () throws(LedgerError) in
                try Decisions.suspend(suspended, reason: String(repeating: "x", count: 501), now: later)
            }
        }, expected: .invalid(field: "reason")),
    DecisionCase(
        name: "reactivate: a suspended key",
        decide: { DecisionOutcome { () throws(LedgerError) in try Decisions.reactivate(suspended, now: later) } },
        expected: .event(.reactivated)),
    DecisionCase(
        name: "reactivate: an active key",
        decide: { DecisionOutcome { () throws(LedgerError) in try Decisions.reactivate(active, now: later) } },
        expected: .conflict),
    DecisionCase(
        name: "reactivate: a suspended key whose expiry passed unrecorded",
        decide: {
            DecisionOutcome { () throws(LedgerError) in
                try Decisions.reactivate(
                    Sample.key {
                        $0.status = .suspended
                        $0.expiresAt = Sample.t0
                    }, now: later)
            }
        }, expected: .conflict),
    DecisionCase(
        name: "revoke: an active key",
        decide: { DecisionOutcome { () throws(LedgerError) in try Decisions.revoke(active, reason: nil) } },
        expected: .event(.revoked)),
    DecisionCase(
        name: "revoke: an expired key is made permanent",
        decide: { DecisionOutcome { () throws(LedgerError) in try Decisions.revoke(recordedExpired, reason: nil) } },
        expected: .event(.revoked)),
    DecisionCase(
        name: "revoke: a revoked key",
        decide: { DecisionOutcome { () throws(LedgerError) in try Decisions.revoke(revoked, reason: nil) } },
        expected: .conflict),
    DecisionCase(
        name: "credits: added to a metered key",
        decide: {
            DecisionOutcome { () throws(LedgerError) in try Decisions.addCredits(limited, amount: 5, now: later) }
        },
        expected: .event(.creditsAdded)),
    DecisionCase(
        name: "credits: 0 is not an amount",
        decide: {
            DecisionOutcome { () throws(LedgerError) in try Decisions.addCredits(limited, amount: 0, now: later) }
        },
        expected: .invalid(field: "add")),
    DecisionCase(
        name: "credits: an unlimited key",
        decide: {
            DecisionOutcome { () throws(LedgerError) in try Decisions.addCredits(active, amount: 5, now: later) }
        },
        expected: .conflict),
    DecisionCase(
        name: "credits: a passed expiry not yet recorded",
        decide: {
            DecisionOutcome { () throws(LedgerError) in
                try Decisions.addCredits(
                    Sample.key {
                        $0.credits = 1
                        $0.expiresAt = Sample.t0
                    }, amount: 5, now: later)
            }
        }, expected: .conflict),
    DecisionCase(
        name: "expire: a passed expiry not yet recorded",
        decide: { DecisionOutcome { Decisions.expire(lapsed, now: later) } }, expected: .event(.expired)),
    DecisionCase(
        name: "expire: an expiry still ahead",
        decide: { DecisionOutcome { Decisions.expire(lapsed, now: Sample.seconds(8)) } }, expected: .nothing),
    DecisionCase(
        name: "expire: a revoked key with a passed expiry stays revoked",
        decide: {
            DecisionOutcome {
                Decisions.expire(
                    Sample.key {
                        $0.status = .revoked
                        $0.expiresAt = Sample.t0
                    }, now: later)
            }
        },
        expected: .nothing),
]

@Test(arguments: decisionCases)
func eachCommandDecidesOverStateAndTime(_ c: DecisionCase) {
    #expect(c.decide() == c.expected)
}

@Test(arguments: [
    (KeyStatus.active, nil as Int64?, KeyStatus.active), (.active, Sample.seconds(11), .active),
    (.active, Sample.seconds(10), .expired), (.suspended, Sample.seconds(10), .expired),
    (.suspended, nil, .suspended), (.revoked, Sample.t0, .revoked), (.expired, nil, .expired),
])
func aKeysStatusAtNowTreatsAPassedExpiryAsExpired(_ stored: KeyStatus, _ expiresAt: Int64?, _ seen: KeyStatus) {
    let key = Sample.key {
        $0.status = stored
        $0.expiresAt = expiresAt
    }
    #expect(key.status(at: later) == seen)
}
