public import Events
public import Projections

extension Decisions {
    /// `owner.updated` with the owner's whole record after `changes`; nil when nothing
    /// changes. `newPlan` is the plan `changes` names, nil when there is no such plan.
    public static func putOwner(_ old: OwnerState?, name: String, _ changes: OwnerChanges, newPlan: PlanState?)
        throws(LedgerError) -> EventPayload?
    {
        try KeyRules.owner(name)
        var s = old?.settings ?? OwnerSettings()
        if let limits = changes.rateLimits {
            try KeyRules.rateLimits(limits)
            s.rateLimits = limits
        }
        if let credits = changes.credits {
            try KeyRules.credits(credits)
            s.credits = credits
        }
        if let refill = changes.refill {
            try OwnerRules.refill(refill)
            s.refill = refill
        }
        if let plan = changes.plan {
            try OwnerRules.plan(plan, found: newPlan)
            s.plan = plan
        }
        if let metadata = changes.metadata {
            try KeyRules.metadata(metadata)
            try KeyRules.metadataSize(metadata)
            s.metadata = metadata
        }
        if let policy = changes.leakPolicy { s.leakPolicy = policy }
        if let purge = changes.purgeAfterSeconds {
            try OwnerRules.purgeAfter(purge)
            s.purgeAfterSeconds = purge
        }
        if let old, old.settings == s { return nil }
        return .ownerUpdated(s)
    }

    /// `plan.updated` with the plan's whole record after `changes`; nil when nothing changes.
    public static func putPlan(_ old: PlanState?, name: String, _ changes: PlanChanges) throws(LedgerError)
        -> EventPayload?
    {
        try OwnerRules.planName(name)
        var s = old?.settings ?? PlanSettings(name: name)
        if let limits = changes.rateLimits {
            try KeyRules.rateLimits(limits)
            s.rateLimits = limits
        }
        if let credits = changes.credits {
            try KeyRules.credits(credits)
            s.credits = credits
        }
        if let refill = changes.refill {
            try OwnerRules.refill(refill)
            s.refill = refill
        }
        if let old, old.settings == s { return nil }
        return .planUpdated(s)
    }
}
