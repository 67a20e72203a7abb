public import Events
public import Projections

extension Ledger {
    /// The quota projection (read-only opens read it; a writer's reads use its snapshot,
    /// which is current as of the last commit).
    var quotas: QuotaProjection { QuotaProjection(environment: projectionEnvironment) }

    /// The owner record `name`, or nil.
    public func owner(_ name: String) throws(LedgerError) -> OwnerState? {
        if let quotaSnapshot { return quotaSnapshot.owner(name) }
        let quotas = self.quotas
        return try readProjections { txn in try quotas.owner(name, in: txn) }
    }

    /// Owner records by name after `after`, at most `limit`.
    public func owners(after: String?, limit: Int) throws(LedgerError) -> [OwnerState] {
        if let quotaSnapshot { return quotaSnapshot.owners(after: after, limit: limit) }
        let quotas = self.quotas
        return try readProjections { txn in try quotas.ownerPage(after: after, limit: limit, in: txn) }
    }

    /// The plan `name`, or nil.
    public func plan(_ name: String) throws(LedgerError) -> PlanState? {
        if let quotaSnapshot { return quotaSnapshot.plan(name) }
        let quotas = self.quotas
        return try readProjections { txn in try quotas.plan(name, in: txn) }
    }

    /// Plans by name after `after`, at most `limit`.
    public func plans(after: String?, limit: Int) throws(LedgerError) -> [PlanState] {
        if let quotaSnapshot { return quotaSnapshot.plans(after: after, limit: limit) }
        let quotas = self.quotas
        return try readProjections { txn in try quotas.planPage(after: after, limit: limit, in: txn) }
    }

    /// The quota side of key `id` (plan, refill, self-rotation, purge), or nil when it
    /// has none.
    public func keyQuota(_ id: KeyID) throws(LedgerError) -> KeyQuota? {
        if let quotaSnapshot { return quotaSnapshot.keyQuota(id) }
        let quotas = self.quotas
        return try readProjections { txn in try quotas.keyQuota(id, in: txn) }
    }
}
