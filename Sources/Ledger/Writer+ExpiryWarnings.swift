import Events
import Projections
import Store

extension Writer {
    /// The sweeper's warning job when some key is due an expiry warning (a read
    /// transaction over the keys expiring within the longest lead), else nil.
    func warningJob() -> Job? {
        guard !warningLeads.isEmpty, let store = executor.notifications else { return nil }
        let now = executor.clock.now()
        let leads = warningLeads
        let due = try? environment.read { txn in
            try ExpiryWarnings.due(leads: leads, now: now, keys: executor.keys, warned: store, in: txn)
        }
        guard let due, !due.isEmpty else { return nil }
        return Job(
            command: .warnExpiring(leadSeconds: leads), context: CommandContext(actor: .sweeper), completion: { _ in })
    }
}
