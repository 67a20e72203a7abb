extension Ledger {
    /// Makes the calling thread (an HTTP event loop) the one that decides, syncs and
    /// answers the batches of commands, between its turns (``runWriterWork()``), so a
    /// command crosses no thread between the request that makes it and its answer. The
    /// writer's own thread hands over first: it commits its open generation and ends.
    /// `wake` must wake the loop from any thread; the ledger calls it when another thread
    /// queues work. Does nothing for a read-only or closed ledger.
    public func attachWriter(wake: @escaping @Sendable () -> Void) { writer?.attach(wake: wake) }

    /// On the attached loop: runs the writer's work that is due now (batches, the open
    /// generation's commit, expiry checks, chores) and returns when none is.
    public func runWriterWork() { writer?.runDue() }

    /// On the attached loop: nanoseconds until the writer has work due (0: now;
    /// `UInt64.max`: none until the loop is woken).
    public func writerWorkDueIn() -> UInt64 { writer?.dueIn() ?? .max }

    /// On the attached loop as it ends: commits the open generation and gives the batches
    /// back to a thread of the writer's own, which serves until ``close()``.
    public func detachWriter() { writer?.detach() }
}
