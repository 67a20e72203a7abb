import Dispatch
public import Events

extension Ledger {
    /// Records a root or socket request that appended nothing else, answered
    /// `request.status` (API.md "Audit completeness"). A read (`coalesce`) may be counted
    /// in its group's pending record instead (``AuditTrail``): then it is done at once.
    ///
    /// A ledger opened read-only records nothing (it cannot): its reads are answered,
    /// as the operator chose to investigate a log that must not change.
    ///
    /// An uncoalesced record keeps the answer of the request's claim
    /// (`context.idempotency`, API.md "Idempotency") in the record's own commit.
    ///
    /// - Parameter completion: nil once the request is recorded (durably) or counted;
    ///   else why the record could not be appended (answer 503: fail closed). Runs on
    ///   the caller's thread or the writer's: it must not block.
    public func recordRequest(
        _ request: LedgerRequest, context: CommandContext, coalesce: Bool,
        completion: @escaping @Sendable (LedgerError?) -> Void
    ) {
        let record =
            coalesce
            ? auditTrail.read(
                request, actor: context.actor, ip: context.ip, requestID: context.requestID, now: clock.now())
            : AuditRecord(
                actor: context.actor, ip: context.ip, requestID: context.requestID, payload: .request(request))
        // A ledger opened read-only (to investigate a damaged log) records nothing, by the operator's choice.
        guard let record, isWritable else { return completion(nil) }
        let trail = auditTrail
        var recording = CommandContext(actor: .auditTrail)
        // A write answered without the writer (a redelivery) keeps its answer in its record's commit.
        if !coalesce { recording.idempotency = context.idempotency }
        submit(.audit([record]), context: recording) { result in
            guard case .failure(let error) = result else { return Self.offWriter { completion(nil) } }
            if coalesce { trail.restore(record, ownRequest: true) }
            completion(error)
        }
    }

    /// Records a failed authentication that never reached the writer (no credential, or
    /// one not in KeyLedger's format): `auth.failed`, at most
    /// ``AuditTrail/failuresPerMinute`` per client address and minute, the rest counted.
    ///
    /// - Parameter completion: as for ``recordRequest(_:context:coalesce:completion:)``.
    public func recordAuthFailure(
        _ failure: AuthFailed, ip: IPAddress?, requestID: String?,
        completion: @escaping @Sendable (LedgerError?) -> Void
    ) {
        guard isWritable else { return completion(nil) }
        let (own, summaries) = auditTrail.failure(failure, ip: ip, requestID: requestID, now: clock.now())
        let records = summaries + [own].compactMap { $0 }
        guard !records.isEmpty else { return completion(nil) }
        let trail = auditTrail
        submit(.audit(records), context: CommandContext(actor: .auditTrail)) { result in
            guard case .failure(let error) = result else { return Self.offWriter { completion(nil) } }
            for summary in summaries { trail.restore(summary, ownRequest: false) }
            completion(error)
        }
    }

    /// Records a ledger key's read, answered `status`, after the read: the writer decides
    /// the key's right to `action` again over the current state (its limits may have
    /// been spent meanwhile) and appends its `key.accessed` with the status in the same
    /// step. An administrator's read is recorded by ``recordRequest(_:context:coalesce:completion:)``.
    ///
    /// - Parameter completion: the grant once the use is durable; a refusal (recorded
    ///   too) or `unavailable` to answer instead of the read. Runs on the writer's
    ///   thread: it must not block.
    public func recordUse(
        _ action: Action, status: Int, context: CommandContext,
        completion: @escaping @Sendable (Result<Grant, LedgerError>) -> Void
    ) {
        submit(.recordUse(action, status: UInt16(clamping: status)), context: context) { result in
            let decided = result.flatMap { outcome -> Result<Grant, LedgerError> in
                guard case .granted(let grant) = outcome else { return .failure(.unavailable("unexpected outcome")) }
                return .success(grant)
            }
            // A refusal is that command's answer; a granted read's answer is the read's.
            guard case .success = decided else { return completion(decided) }
            Self.offWriter { completion(decided) }
        }
    }

    /// Runs `body` on another thread than the writer's: a read's answer, sent once its
    /// record is durable, is not that record's command answer (``seqOfAnswer``).
    private static func offWriter(_ body: @escaping @Sendable () -> Void) {
        DispatchQueue.global().async(execute: body)
    }
}
