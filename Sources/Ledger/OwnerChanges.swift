public import Events
public import Projections

/// A `PUT /v1/owners/{owner}`: nil fields keep their value (a new owner starts with no
/// limits, unlimited credits, no refill, no plan, the server's leak policy, no purge).
public struct OwnerChanges: Sendable, Equatable {
    public var rateLimits: [RateLimit]?
    /// `.some(nil)`: unlimited.
    public var credits: Int64??
    public var refill: Refill??
    public var plan: String??
    public var metadata: [String: String]?
    public var leakPolicy: LeakPolicy?
    public var purgeAfterSeconds: Int64??

    public init() {}
}

/// A `PUT /v1/plans/{plan}`: nil fields keep their value.
public struct PlanChanges: Sendable, Equatable {
    public var rateLimits: [RateLimit]?
    public var credits: Int64??
    public var refill: Refill??

    public init() {}
}

/// The checks on owner and plan records (documented in docs/openapi.yaml).
public enum OwnerRules {
    public static let maxPurgeAfterSeconds: Int64 = 315_360_000

    /// The fields of an owner change that only administrators may make: they change
    /// what the owner is sold (plan) or how its keys are handled (leak policy, purge).
    /// A `ledger:quotas` key may change its own owner's limits, credits, refill and metadata.
    public static func administratorFields(_ changes: OwnerChanges) -> [String] {
        var fields: [String] = []
        if changes.plan != nil { fields.append("plan") }
        if changes.leakPolicy != nil { fields.append("leakPolicy") }
        if changes.purgeAfterSeconds != nil { fields.append("purgeAfterSeconds") }
        return fields
    }

    /// A plan name: like an owner name.
    public static func planName(_ name: String, field: String = "plan") throws(LedgerError) {
        do {
            try KeyRules.owner(name)
        } catch {
            throw .invalid(field: field, reason: "must match ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
        }
    }

    /// The plan a key or owner names, if any: a plan name, of a plan that exists
    /// (`found` is the plan looked up by that name, nil when there is none).
    public static func plan(_ name: String?, found: PlanState?) throws(LedgerError) {
        guard let name else { return }
        try planName(name)
        guard found?.name == name else { throw .invalid(field: "plan", reason: "no plan \(name)") }
    }

    public static func refill(_ refill: Refill?, field: String = "refill") throws(LedgerError) {
        guard let refill else { return }
        guard (0...KeyRules.maxCredits).contains(refill.amount) else {
            throw .invalid(field: "\(field).amount", reason: "must be 0 to \(KeyRules.maxCredits)")
        }
        if let day = refill.dayOfMonth {
            guard refill.interval == .monthly else {
                throw .invalid(field: "\(field).dayOfMonth", reason: "applies to monthly refills only")
            }
            guard (1...31).contains(day) else { throw .invalid(field: "\(field).dayOfMonth", reason: "must be 1 to 31") }
        }
    }

    public static func purgeAfter(_ seconds: Int64?) throws(LedgerError) {
        guard let seconds else { return }
        guard (0...maxPurgeAfterSeconds).contains(seconds) else {
            throw .invalid(field: "purgeAfterSeconds", reason: "must be 0 to \(maxPurgeAfterSeconds)")
        }
    }
}
