public import Events
import Projections
import Store

extension CommandExecutor {
    /// Keeps the answer of an idempotent command in the command's own (child)
    /// transaction: it commits with the command's events or not at all.
    /// - Returns: the answer kept, nil when the command has no claim.
    func keepAnswer(
        _ outcome: Outcome, _ context: CommandContext, _ seq: UInt64, _ now: Int64, _ txn: borrowing Transaction
    ) throws -> IdempotentAnswer? {
        guard let claim = context.idempotency else { return nil }
        var key: KeyState?
        if case .key(let state) = outcome { key = state }
        let answer = IdempotentAnswer(fingerprint: claim.fingerprint, time: now, seq: seq, key: key)
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
