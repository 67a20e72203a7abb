import Events
import Projections
import Store

extension CommandExecutor {
    /// The sweeper's quota work: every refill whose boundary has passed (the credits set
    /// to the refill amount by `key.credits_refilled` or `owner.credits_refilled`) and
    /// every purge due (`key.purged`), as events, so a replay restores them exactly.
    ///
    /// - Returns: the events appended.
    func refillAndPurgeDue(_ job: Writer.Job, _ head: inout EventLog.Head, _ now: Int64, _ txn: borrowing Transaction)
        throws -> Int
    {
        var count = 0
        for subject in quotas.dueSubjects(atOrBefore: now, limit: 1000) {
            switch subject {
            case .owner(let name):
                guard let owner = quotas.owner(name) else { continue }
                let plan = owner.settings.plan.flatMap { quotas.plan($0) }
                guard let refill = owner.refill(plan: plan) else { continue }
                try append(
                    .ownerCreditsRefilled(balance: refill.amount), to: nil, id: .none, owner: name, actor: .sweeper,
                    context: job.context, head: &head, now: now, in: txn)
            case .key(let id):
                guard let state = try state(of: id), let quota = quotas.keyQuota(id)
                else { continue }
                let plan = quota.settings.plan.flatMap { quotas.plan($0) }
                guard let refill = quota.refill(plan: plan) else { continue }
                try append(
                    .creditsRefilled(balance: refill.amount), to: state, id: id, owner: state.owner, actor: .sweeper,
                    context: job.context, head: &head, now: now, in: txn)
            case .purge(let id):
                guard let state = try state(of: id) else { continue }
                try append(
                    .purged, to: state, id: id, owner: state.owner, actor: .sweeper, context: job.context, head: &head,
                    now: now, in: txn)
            }
            count += 1
        }
        return count
    }
}
