public import Events
public import Projections

/// Whether an action loosens a key's quotas (API.md, "Owners, plans and quotas"):
/// adds or sets credits, loosens or removes a rate limit, extends or removes an expiry.
/// Loosening needs `ledger:quotas`; tightening or keeping needs only `ledger:keys`.
public enum QuotaChange {
    /// The quota fields `action` loosens on `key`, in a fixed order (credits,
    /// rateLimits, expiresAt, plan, refill); empty when it only keeps or tightens them.
    public static func loosened(by action: Action, of key: KeyState) -> [String] {
        switch action {
        case .addCredits, .setCredits:
            return ["credits"]
        case .updateKey(_, let changes):
            var fields: [String] = []
            if let limits = changes.rateLimits, loosens(from: key.rateLimits, to: limits) {
                fields.append("rateLimits")
            }
            if let expiresAt = changes.expiresAt, loosens(expiry: key.expiresAt, to: expiresAt) {
                fields.append("expiresAt")
            }
            // What a key is sold: moving it to a plan or giving it a refill may loosen anything.
            if changes.plan != nil { fields.append("plan") }
            if changes.refill != nil { fields.append("refill") }
            return fields
        default:
            return []
        }
    }

    /// True when some old limit is no longer implied by a new one. A new limit of
    /// `limit` per `window` implies an old one when it allows no more requests
    /// (`limit <=`) over at least as long a window (`window >=`).
    public static func loosens(from old: [RateLimit], to new: [RateLimit]) -> Bool {
        old.contains { before in
            !new.contains { $0.limit <= before.limit && $0.windowSeconds >= before.windowSeconds }
        }
    }

    /// True when the expiry moves later or goes away (nil: never expires).
    public static func loosens(expiry old: Int64?, to new: Int64?) -> Bool {
        guard let old else { return false }
        guard let new else { return true }
        return new > old
    }
}
