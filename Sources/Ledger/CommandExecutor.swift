import Events
import Projections
import Store

/// Runs a batch of commands inside the writer's one write transaction: decide against
/// the state the transaction sees, append the events, fold them into every projection,
/// and move the checkpoints to the new head.
struct CommandExecutor: Sendable {
    let log: EventLog
    let keys: KeyStateProjection
    let others: [any Projection]
    let checkpoints: Checkpoints
    let clock: any LedgerClock
    /// Rate-limits the `auth.failed` records of refused credentials.
    let trail: AuditTrail

    var allProjections: [any Projection] { [keys] + others }

    func run(_ batch: [Writer.Job], in txn: borrowing Transaction) throws -> [Result<Outcome, LedgerError>] {
        var head = try log.head(in: txn)
        try catchUp(to: head.seq, in: txn)
        let startSeq = head.seq
        var results: [Result<Outcome, LedgerError>] = []
        results.reserveCapacity(batch.count)
        var cache = KeyStateCache()
        for job in batch {
            let now = max(clock.now(), head.time)
            if case .verify(let request, let digest) = job.command {
                // Verification never fails as a command: refusals are outcomes to record.
                results.append(.success(.verified(try verify(request, digest, job.context, &head, now, &cache, txn))))
                continue
            }
            // Management commands read and write the key rows directly (and may be
            // rolled back), so the cached verification states go to the table first.
            try cache.flush(keys, txn)
            let before = head
            do {
                let outcome = try txn.nested { child in try execute(job, &head, now, child) }
                results.append(.success(outcome))
            } catch let error as LedgerError {
                head = before
                try recordRefusal(job, error, &head, now, txn)
                results.append(.failure(error))
            }
        }
        try cache.flush(keys, txn)
        if head.seq != startSeq {
            for projection in allProjections { try checkpoints.write(projection.name, head.seq, in: txn) }
        }
        return results
    }

    /// Folds events the projections have not seen (a new projection, or a rebuild cut
    /// short) so that every projection stands at the log's head before new events.
    func catchUp(to headSeq: UInt64, in txn: borrowing Transaction) throws {
        for projection in allProjections {
            let from = try checkpoints.read(projection.name, in: txn)
            guard from < headSeq else { continue }
            try log.scan(from: from + 1, context: projection.needsEventContext ? .actorAndIP : .minimal, in: txn) { stored in
                try projection.apply(stored.event, in: txn)
                return true
            }
            try checkpoints.write(projection.name, headSeq, in: txn)
        }
    }

    /// Appends one event for a key whose state before it is `old`, folds it everywhere,
    /// and returns the key's state after it.
    ///
    /// - Parameter storeState: false when the caller keeps the new state in a
    ///   ``KeyStateCache`` and writes it later in the same transaction.
    @discardableResult
    func append(
        _ payload: EventPayload, to old: KeyState?, id: KeyID, owner: String, actor: Actor,
        context: CommandContext, head: inout EventLog.Head, now: Int64,
        storeState: Bool = true, in txn: borrowing Transaction
    ) throws -> KeyState? {
        var event = Event(
            time: now, keyID: id, owner: owner, actor: actor, ip: context.ip,
            requestID: context.requestID, payload: payload)
        try log.append(&event, after: &head, in: txn)
        let new = KeyState.evolve(old, event)
        if let new {
            if storeState { try keys.store(new, replacing: old?.indexed, in: txn) }
            try keys.snapshotIfDue(new, at: event.seq, in: txn)
        }
        for projection in others { try projection.apply(event, in: txn) }
        return new
    }

    func latency(_ context: CommandContext) -> UInt32 {
        guard context.receivedAtNanos > 0 else { return 0 }
        let nanos = clock.monotonicNanos() &- context.receivedAtNanos
        return UInt32(clamping: nanos / 1000)
    }

    func verify(
        _ request: VerifyRequest, _ digest: Digest, _ context: CommandContext,
        _ head: inout EventLog.Head, _ now: Int64, _ cache: inout KeyStateCache,
        _ txn: borrowing Transaction
    ) throws -> VerifyResult {
        let unknown = VerifyResult(code: .notFound, status: 401)
        guard let id = try keys.keyID(forSecret: digest, in: txn), let state = try cache.state(of: id, keys, txn) else {
            return unknown
        }
        let match = state.secretMatches(digest, at: now)
        if match == .none { return unknown }
        let decision = VerifyDecision.decide(
            state, match: match, request: request, latencyMicros: latency(context), now: now)
        var current = state
        for payload in decision.events {
            current =
                try append(
                    payload, to: current, id: id, owner: state.owner, actor: Actor(kind: .key, id: id.description),
                    context: context, head: &head, now: now, storeState: false, in: txn) ?? current
        }
        cache.update(current)
        return VerifyDecision.result(code: decision.code, after: current, now: now)
    }
}
