import Events
import Projections
import Store

/// The one seam through which the writer's decisions read owner, plan and key-quota
/// states. Today it reads the quota projection inside the write transaction (every
/// appended event is folded into it at once, so a batch sees its own effects); an
/// in-memory decision state can stand behind the same calls.
struct QuotaStates: Sendable {
    let projection: QuotaProjection

    func owner(_ name: String, in txn: borrowing Transaction) throws -> OwnerState? {
        try projection.owner(name, in: txn)
    }

    func plan(_ name: String, in txn: borrowing Transaction) throws -> PlanState? {
        try projection.plan(name, in: txn)
    }

    func keyQuota(_ id: KeyID, in txn: borrowing Transaction) throws -> KeyQuota? {
        try projection.keyQuota(id, in: txn)
    }

    /// Everything a verification of `key` decides over besides the key itself.
    func context(of key: KeyState, in txn: borrowing Transaction) throws -> QuotaContext {
        var context = QuotaContext()
        context.keyQuota = try keyQuota(key.id, in: txn)
        context.keyPlan = try context.keyQuota?.settings.plan.flatMap { try plan($0, in: txn) }
        context.owner = try owner(key.owner, in: txn)
        context.ownerPlan = try context.owner?.settings.plan.flatMap { try plan($0, in: txn) }
        return context
    }
}
