public import Events
public import Projections

extension Ledger {
    var quotas: QuotaProjection { QuotaProjection(environment: environment) }

    /// The owner record `name`, or nil.
    public func owner(_ name: String) throws(LedgerError) -> OwnerState? {
        let quotas = self.quotas
        return try read { txn in try quotas.owner(name, in: txn) }
    }

    /// Owner records by name after `after`, at most `limit`.
    public func owners(after: String?, limit: Int) throws(LedgerError) -> [OwnerState] {
        let quotas = self.quotas
        return try read { txn in try quotas.ownerPage(after: after, limit: limit, in: txn) }
    }

    /// The plan `name`, or nil.
    public func plan(_ name: String) throws(LedgerError) -> PlanState? {
        let quotas = self.quotas
        return try read { txn in try quotas.plan(name, in: txn) }
    }

    /// Plans by name after `after`, at most `limit`.
    public func plans(after: String?, limit: Int) throws(LedgerError) -> [PlanState] {
        let quotas = self.quotas
        return try read { txn in try quotas.planPage(after: after, limit: limit, in: txn) }
    }

    /// The quota side of key `id` (plan, refill, self-rotation, purge), or nil when it
    /// has none.
    public func keyQuota(_ id: KeyID) throws(LedgerError) -> KeyQuota? {
        let quotas = self.quotas
        return try read { txn in try quotas.keyQuota(id, in: txn) }
    }
}
