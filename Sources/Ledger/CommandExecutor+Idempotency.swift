public import Events
import Projections
import Store

extension CommandExecutor {
    /// Keeps the answer of an idempotent command in the command's own (child)
    /// transaction: it commits with the command's events or not at all.
    ///
    /// A read's authorization (``Command/authorize(_:)``) keeps nothing: what it lets the
    /// server do has not been done yet. Its recorded use (``Command/recordUse(_:status:)``)
    /// keeps the answer once that was a success: a redelivery, which the request alone
    /// renders again.
    /// - Returns: the answer kept, nil when the command has no claim or keeps nothing.
    func keepAnswer(
        _ job: Writer.Job, _ outcome: Outcome, _ seq: UInt64, _ now: Int64, _ txn: borrowing Transaction
    ) throws -> IdempotentAnswer? {
        guard let claim = job.context.idempotency else { return nil }
        let subject: IdempotentAnswer.Subject?
        switch (outcome, job.command) {
        case (.key(let state), _): subject = .key(state)
        case (.webhook(let hook), _): subject = .webhook(hook)
        case (.leaks(let labels), _): subject = .leaks(labels)
        case (_, .recordUse(_, let status)) where (200..<300).contains(status): subject = nil
        case (_, .authorize), (_, .recordUse): return nil
        default: subject = nil
        }
        let answer = IdempotentAnswer(fingerprint: claim.fingerprint, time: now, seq: seq, subject: subject)
        try idempotency.record(answer, for: claim, in: txn)
        return answer
    }
}

extension Ledger {
    /// The kept answer of an idempotent request named `key`, if one was committed within
    /// the last 24 h.
    public func idempotentAnswer(_ key: Digest) throws(LedgerError) -> IdempotentAnswer? {
        // Durable in the journal, not yet committed to the log: the writer has it.
        if let pending = writer?.pendingAnswer(key) { return pending }
        let store = IdempotencyStore(environment: environment)
        let now = clock.now()
        return try read { txn in try store.answer(key, now: now, in: txn) }
    }
}
