import Events
import Ledger
import Projections
import Testing

private func limits(_ pairs: [(UInt64, UInt32)]) -> [RateLimit] {
    pairs.map { RateLimit(limit: $0.0, windowSeconds: $0.1) }
}

@Test(
    arguments: [
        ([], [], false),
        ([(100, 60)], [], true),
        ([], [(100, 60)], false),
        ([(100, 60)], [(100, 60)], false),
        ([(100, 60)], [(50, 60)], false),
        ([(100, 60)], [(200, 60)], true),
        ([(100, 60)], [(100, 120)], false),
        ([(100, 60)], [(100, 30)], true),
        ([(100, 60)], [(50, 30)], true),
        ([(100, 60), (1000, 3600)], [(100, 60)], true),
        ([(100, 60)], [(10, 60), (5000, 3600)], false),
        ([(100, 60), (1000, 3600)], [(1000, 3600), (90, 60)], false),
    ] as [([(UInt64, UInt32)], [(UInt64, UInt32)], Bool)])
func rateLimitsLoosenWhenAnOldLimitIsNoLongerImplied(
    _ old: [(UInt64, UInt32)], _ new: [(UInt64, UInt32)], _ loosens: Bool
) {
    #expect(QuotaChange.loosens(from: limits(old), to: limits(new)) == loosens)
}

@Test(
    arguments: [
        (nil, nil, false), (nil, Sample.seconds(60), false), (Sample.seconds(60), nil, true),
        (Sample.seconds(60), Sample.seconds(61), true), (Sample.seconds(60), Sample.seconds(59), false),
        (Sample.seconds(60), Sample.seconds(60), false),
    ] as [(Int64?, Int64?, Bool)])
func anExpiryLoosensWhenItMovesLaterOrGoesAway(_ old: Int64?, _ new: Int64?, _ loosens: Bool) {
    #expect(QuotaChange.loosens(expiry: old, to: new) == loosens)
}

@Test func anActionLoosensCreditsRateLimitsAndExpiryOnly() {
    let key = Sample.key {
        $0.rateLimits = limits([(100, 60)])
        $0.expiresAt = Sample.seconds(3600)
        $0.credits = 5
    }
    var all = KeyChanges()
    all.name = "renamed"
    all.scopes = ["anything"]
    all.rateLimits = []
    all.expiresAt = .some(nil)
    #expect(QuotaChange.loosened(by: .updateKey(key.id, all), of: key) == ["rateLimits", "expiresAt"])
    var tighter = KeyChanges()
    tighter.rateLimits = limits([(10, 60)])
    tighter.expiresAt = .some(Sample.seconds(60))
    #expect(QuotaChange.loosened(by: .updateKey(key.id, tighter), of: key).isEmpty)
    #expect(QuotaChange.loosened(by: .addCredits(key.id, amount: 1), of: key) == ["credits"])
    for action in [Action.rotateKey(key.id), .reactivateKey(key.id), .suspendKey(key.id), .revokeKey(key.id)] {
        #expect(QuotaChange.loosened(by: action, of: key).isEmpty)
    }
}
