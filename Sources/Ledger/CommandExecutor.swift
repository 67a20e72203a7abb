import Events
import Projections
import Store

/// Runs a batch of commands inside the writer's one write transaction of the log:
/// decides each against the decision state in memory (``DecisionState``), appends its
/// events to the log and folds them into that state. Reads no projection row on the
/// verification path; the projections are folded behind, by the ``Projector``.
///
/// Lives on the writer's thread only.
final class CommandExecutor: @unchecked Sendable {
    // Safe to share: only the writer's thread calls it after the ledger's open.
    let log: EventLog
    /// The key-state projection, read (in the projections' environment) for the
    /// descriptive fields of a key a management command acts on.
    let keys: KeyStateProjection
    let projections: Environment
    let projector: Projector
    let clock: any LedgerClock
    /// The kept answers of idempotent requests (in the log's environment: they commit
    /// with their commands' events).
    let idempotency: IdempotencyStore
    /// The quota projection the owner, plan and key-quota states are loaded from.
    let quotaProjection: QuotaProjection
    /// Rate-limits the `auth.failed` records of refused credentials.
    let trail: AuditTrail
    var decisions = DecisionState()
    var quotas: QuotaStates
    /// Webhooks and expiry warnings given (CommandExecutor+Webhooks.swift).
    var notices = NotificationDecisions()
    /// The answers of the batch's idempotent commands that took effect, by claim key.
    private(set) var keptAnswers: [(Digest, IdempotentAnswer)] = []
    /// Full states of keys whose last descriptive change (creation, update, rotation,
    /// ...) the projections may not include yet, with that event's seq; in seq order in
    /// `recentOrder` (from `recentFront` on) for eviction once the projections include it.
    private var recent: [KeyID: (seq: UInt64, state: KeyState)] = [:]
    private var recentOrder: [(seq: UInt64, id: KeyID)] = []
    private var recentFront = 0
    private var recentJournal: [(id: KeyID, before: (seq: UInt64, state: KeyState)?)] = []
    /// The stored value of the event being appended: one buffer, reused for every event.
    private var eventBuffer = BinaryWriter(capacity: 512)

    init(
        log: EventLog, keys: KeyStateProjection, projections: Environment, projector: Projector,
        idempotency: IdempotencyStore, quotas: QuotaProjection, snapshot: QuotaSnapshot, clock: any LedgerClock,
        trail: AuditTrail
    ) {
        self.log = log
        self.keys = keys
        self.projections = projections
        self.projector = projector
        self.idempotency = idempotency
        self.quotaProjection = quotas
        self.quotas = QuotaStates(snapshot: snapshot)
        self.clock = clock
        self.trail = trail
    }

    /// Loads the decision state from the key-state projection, which must include the
    /// log's head (the projector caught up before the writer starts).
    func load() throws {
        try projections.read { txn in
            decisions.reserve(try keys.count(in: txn))
            try keys.forEachState(in: txn) { state in decisions.store(state, replacing: nil) }
            quotas.load(try quotaProjection.loadAll(in: txn))
            try notices.load(NotificationProjection(environment: projections), in: txn)
        }
        decisions.committed()
        quotas.committed()
    }

    /// Forgets the decision state and loads it again (after a rebuild).
    func reload() throws {
        decisions = DecisionState()
        quotas = QuotaStates(snapshot: quotas.snapshot)
        recent.removeAll()
        recentOrder.removeAll()
        recentFront = 0
        recentJournal.removeAll()
        try load()
    }

    /// Decides and appends every job; returns each result (never nil: optional so that
    /// the writer can move each out to its caller) and the log's seq after it. Runs again
    /// from its start when the transaction is retried (a map that grew): it first undoes
    /// what an earlier attempt changed in memory.
    func run(_ batch: [Writer.Job], in txn: borrowing Transaction) throws -> (
        [Result<Outcome, LedgerError>?], [UInt64]
    ) {
        rollbackBatch()
        evictRecent()
        keptAnswers.removeAll(keepingCapacity: true)
        var head = try log.head(in: txn)
        var results: [Result<Outcome, LedgerError>?] = []
        var seqs: [UInt64] = []
        results.reserveCapacity(batch.count)
        seqs.reserveCapacity(batch.count)
        for index in batch.indices {
            let now = max(clock.now(), head.time)
            // Read in place, not as `for job in batch` or `batch[index]`, which copy each
            // job's command (or the job whole) before it is decided.
            let verified = try batch.withUnsafeBufferPointer { jobs in
                guard case .verify(let request, let digest) = jobs[index].command else { return false }
                // Verification never fails as a command: refusals are outcomes to record.
                results.append(.success(.verified(try verify(request, digest, jobs[index].context, &head, now, txn))))
                return true
            }
            if verified {
                seqs.append(head.seq)
                continue
            }
            let job = batch[index]
            let before = head
            let mark = (decisions.mark(), recentJournal.count, notices.mark, quotas.mark())
            do {
                let (outcome, kept) = try txn.nested { child in
                    let outcome = try execute(job, &head, now, child)
                    return (outcome, try keepAnswer(job, outcome, head.seq, now, child))
                }
                if let kept, let claim = job.context.idempotency { keptAnswers.append((claim.key, kept)) }
                results.append(.success(outcome))
            } catch let error as LedgerError {
                head = before
                rollback(to: mark)
                try recordRefusal(job, error, &head, now, txn)
                results.append(.failure(error))
            }
            seqs.append(head.seq)
        }
        return (results, seqs)
    }

    /// The batch is durable: keeps its changes to the decision state.
    func committed() {
        decisions.committed()
        quotas.committed()
        notices.committed()
        recentJournal.removeAll(keepingCapacity: true)
    }

    /// The batch was not committed: undoes its changes to the decision state.
    func rollbackBatch() { rollback(to: (0, 0, 0, 0)) }

    private func rollback(to mark: (Int, Int, Int, Int)) {
        decisions.rollback(to: mark.0)
        notices.rollback(to: mark.2)
        quotas.rollback(to: mark.3)
        while recentJournal.count > mark.1 {
            let undo = recentJournal.removeLast()
            recent[undo.id] = undo.before
        }
    }

    private func evictRecent() {
        let projected = projector.projected
        while recentFront < recentOrder.count, recentOrder[recentFront].seq <= projected {
            let (seq, id) = recentOrder[recentFront]
            if recent[id]?.seq == seq { recent[id] = nil }
            recentFront += 1
        }
        if recentFront > 1024, recentFront * 2 > recentOrder.count {
            recentOrder.removeFirst(recentFront)
            recentFront = 0
        }
    }

    /// The full current state of `id`: its descriptive fields from the latest change
    /// (kept here until the projections include it, then read from them), the rest from
    /// the decision state. Nil when no such key exists.
    func state(of id: KeyID) throws -> KeyState? {
        guard decisions.position(of: id) != nil else { return nil }
        if let kept = recent[id] { return decisions.current(kept.state) }
        guard let base = try projections.read({ txn in try keys.state(of: id, in: txn) }) else {
            throw LedgerError.unavailable("key \(id) is missing from the key-state projection")
        }
        return decisions.current(base)
    }

    /// Appends one event for a key whose full state before it is `old` (nil: none yet),
    /// folds it into the decision state, and returns the key's state after it.
    @discardableResult
    func append(
        _ payload: EventPayload, to old: KeyState?, id: KeyID, owner: String, actor: Actor,
        context: CommandContext, head: inout EventLog.Head, now: Int64, in txn: borrowing Transaction
    ) throws -> KeyState? {
        var event = Event(
            time: now, keyID: id, owner: owner, actor: actor, ip: context.ip,
            requestID: context.requestID, payload: payload)
        try log.append(&event, after: &head, in: txn, buffer: &eventBuffer)
        try quotas.apply(event)
        notices.apply(event)
        guard let new = KeyState.evolve(old, event) else { return nil }
        decisions.store(new, replacing: old)
        if case .accessed = payload {
        } else {
            recentJournal.append((id, recent[id]))
            recent[id] = (event.seq, new)
            recentOrder.append((event.seq, id))
        }
        return new
    }

    func latency(_ context: CommandContext) -> UInt32 {
        guard context.receivedAtNanos > 0 else { return 0 }
        let nanos = clock.monotonicNanos() &- context.receivedAtNanos
        return UInt32(clamping: nanos / 1000)
    }

    func verify(
        _ request: VerifyRequest, _ digest: Digest, _ context: CommandContext,
        _ head: inout EventLog.Head, _ now: Int64, _ txn: borrowing Transaction
    ) throws -> VerifyResult {
        // One state, decided on and then moved on in place by the decision's events.
        guard case (let position, let match, var current)? = decisions.view(opening: digest, at: now) else {
            return VerifyResult(code: .notFound, status: 401)
        }
        var quota = quotas.context(of: current)
        let (code, expires, access) = VerifyDecision.decideEvents(
            current, match: match, request: request, latencyMicros: latency(context), now: now, quota: quota)
        // One event value for the decision's events, the payload replaced for each.
        var event = Event(
            time: now, keyID: current.id, owner: current.owner, actor: Actor(kind: .key, id: current.id.description),
            ip: context.ip, requestID: context.requestID, payload: expires ? .expired : .accessed(access))
        // (The state passed in, not captured: it is consumed into the answer below.)
        func appendAndFold(into state: inout KeyState) throws {
            try log.append(&event, after: &head, in: txn, buffer: &eventBuffer)
            try quotas.apply(event)
            state.fold(event)
        }
        if expires {
            try appendAndFold(into: &current)
            event.payload = .accessed(access)
        }
        try appendAndFold(into: &current)
        decisions.recordAccess(position, current)
        // A grant moved the owner's and the plan's windows: the answer shows them after it.
        if code == .valid, !quota.isEmpty { quota = quotas.context(of: current) }
        return VerifyDecision.result(
            code: code, after: consume current, request: request, now: now, quota: quota)
    }
}
