public import Events
import Projections
import Store

extension CommandExecutor {
    /// Keeps the answer of an idempotent command in the command's own (child)
    /// transaction: it commits with the command's events or not at all.
    func keepAnswer(
        _ outcome: Outcome, _ context: CommandContext, _ seq: UInt64, _ now: Int64, _ txn: borrowing Transaction
    ) throws {
        guard let claim = context.idempotency else { return }
        var key: KeyState?
        if case .key(let state) = outcome { key = state }
        try idempotency.record(
            IdempotentAnswer(fingerprint: claim.fingerprint, time: now, seq: seq, key: key), for: claim, in: txn)
    }
}

extension Ledger {
    /// The kept answer of an idempotent request named `key`, if one was committed within
    /// the last 24 h.
    public func idempotentAnswer(_ key: Digest) throws(LedgerError) -> IdempotentAnswer? {
        let store = IdempotencyStore(environment: environment)
        let now = clock.now()
        return try read { txn in try store.answer(key, now: now, in: txn) }
    }
}
