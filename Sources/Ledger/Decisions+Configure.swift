public import Events
public import Projections

extension Decisions {
    /// The quota settings a new key gets: its own, with its owner's purge delay when it
    /// gives none. `plan` is the plan the spec names (nil when there is no such plan).
    public static func quotaSettings(_ spec: KeySpec, plan: PlanState?, owner: OwnerState?) throws(LedgerError)
        -> KeyQuotaSettings
    {
        var settings = spec.quota
        try OwnerRules.plan(settings.plan, found: plan)
        try OwnerRules.refill(settings.refill)
        try OwnerRules.purgeAfter(settings.purgeAfterSeconds)
        if settings.purgeAfterSeconds == nil { settings.purgeAfterSeconds = owner?.settings.purgeAfterSeconds }
        return settings
    }

    /// `key.configured` for the quota fields of `changes`; nil when they change nothing.
    /// `newPlan` is the plan `changes` names (nil when there is no such plan).
    public static func configure(_ old: KeyQuota?, _ changes: KeyChanges, newPlan: PlanState?) throws(LedgerError)
        -> EventPayload?
    {
        var s = old?.settings ?? KeyQuotaSettings()
        if let plan = changes.plan {
            try OwnerRules.plan(plan, found: newPlan)
            s.plan = plan
        }
        if let refill = changes.refill {
            try OwnerRules.refill(refill)
            s.refill = refill
        }
        if let rotate = changes.selfRotate { s.selfRotate = rotate }
        if let purge = changes.purgeAfterSeconds {
            try OwnerRules.purgeAfter(purge)
            s.purgeAfterSeconds = purge
        }
        if s == (old?.settings ?? KeyQuotaSettings()) { return nil }
        return .configured(s)
    }
}
