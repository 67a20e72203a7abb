import Events
public import Projections

/// What a key's verification decides over besides ``KeyState``: its plan's limits
/// (windows of its own), its owner's limits and its owner's plan's (windows shared by
/// all the owner's keys), and the owner's credits. Pure values.
public struct QuotaContext: Sendable, Equatable {
    public var keyQuota: KeyQuota?
    public var keyPlan: PlanState?
    public var owner: OwnerState?
    public var ownerPlan: PlanState?

    /// No quota state at all (most keys' context). Sets no field from a parameter: the
    /// defaulted parameters of the other initializer are each made and then copied.
    public init() {}

    public init(keyQuota: KeyQuota? = nil, keyPlan: PlanState? = nil, owner: OwnerState? = nil, ownerPlan: PlanState? = nil) {
        self.keyQuota = keyQuota
        self.keyPlan = keyPlan
        self.owner = owner
        self.ownerPlan = ownerPlan
    }

    /// True when there is neither a key quota nor an owner state (so no plan either):
    /// nothing beside the key itself to decide over.
    public var isEmpty: Bool {
        // Matched, not compared with nil: the comparison copies the states out.
        if case .none = keyQuota, case .none = owner { return true }
        return false
    }

    /// Every limit with its counter: the key's plan's, then the owner's own and its plan's.
    func limits() -> [(RateLimit, RateWindow, RateLimitStatus.Scope)] {
        // Most keys have neither a quota nor an owner record: no limit, and no array made.
        if isEmpty { return [] }
        var out: [(RateLimit, RateWindow, RateLimitStatus.Scope)] = []
        let keyWindows = keyQuota?.windows ?? LimitWindows()
        for (limit, origin, index) in LimitWindows.effective(own: [], plan: keyPlan?.settings.rateLimits ?? []) {
            out.append((limit, keyWindows.window(LimitWindows.slot(limit, at: index, origin)), .key))
        }
        if let owner {
            let all = LimitWindows.effective(own: owner.settings.rateLimits, plan: ownerPlan?.settings.rateLimits ?? [])
            for (limit, origin, index) in all {
                out.append((limit, owner.windows.window(LimitWindows.slot(limit, at: index, origin)), .owner))
            }
        }
        return out
    }

    /// The standing of every limit at `now`.
    public func statuses(at now: Int64) -> [RateLimitStatus] {
        limits().map { RateLimitStatus($0.0, $0.1, scope: $0.2, now: now) }
    }

    /// True when one of the limits has no room left at `now`.
    public func isOverRateLimit(at now: Int64) -> Bool {
        statuses(at: now).contains { $0.remaining == 0 }
    }

    /// Seconds until every exhausted limit has room again; nil when none is exhausted.
    public func retryAfter(at now: Int64) -> Int? {
        var retryAfter: Int?
        for status in statuses(at: now) where status.remaining == 0 {
            retryAfter = max(retryAfter ?? 1, max(1, Int((status.resetAt - now + 999_999) / 1_000_000)))
        }
        return retryAfter
    }

    /// True when the owner's credits (if it has any) cover `cost`.
    public func covers(cost: UInt32) -> Bool {
        guard let credits = owner?.settings.credits else { return true }
        return credits >= Int64(cost)
    }
}
