import Events

extension Writer {
    /// The sweeper's warning job when some key is due an expiry warning (from the
    /// decision state in memory), else nil. On the writer's thread.
    func warningJob() -> Job? {
        guard !warningLeads.isEmpty, !executor.dueWarnings(leads: warningLeads, now: executor.clock.now()).isEmpty
        else { return nil }
        return Job(
            command: .warnExpiring(leadSeconds: warningLeads), context: CommandContext(actor: .sweeper),
            completion: { _, _ in })
    }
}
