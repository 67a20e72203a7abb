import Events
import Projections
import Store

extension CommandExecutor {
    /// Appends ledger-wide records: no key, no owner.
    func appendAudit(_ records: [AuditRecord], _ head: inout EventLog.Head, _ now: Int64, _ txn: borrowing Transaction)
        throws -> Outcome
    {
        for record in records { try append(record, &head, now, txn) }
        return .recorded(count: records.count)
    }

    private func append(_ record: AuditRecord, _ head: inout EventLog.Head, _ now: Int64, _ txn: borrowing Transaction)
        throws
    {
        let context = CommandContext(actor: record.actor, ip: record.ip, requestID: record.requestID)
        try append(
            record.payload, to: nil, id: .none, owner: "", actor: record.actor, context: context, head: &head,
            now: now, in: txn)
    }

    /// Records a refused management request in the step that refused it (its own
    /// events already undone), so that it is answered only once its record is durable:
    /// a root or socket request appends `ledger.request`; a ledger key's, `key.accessed`
    /// on that key with the status; a failed authentication, `auth.failed` (at most
    /// ``AuditTrail/failuresPerMinute`` per address and minute). Bad input
    /// (``LedgerError/invalid(field:reason:)``) and a ledger that cannot append record nothing.
    func recordRefusal(
        _ job: Writer.Job, _ error: LedgerError, _ head: inout EventLog.Head, _ now: Int64,
        _ txn: borrowing Transaction
    ) throws {
        // No endpoint: the ledger's own work or a local tool, not a request.
        guard let action = job.command.action, action.isRecorded, let status = error.recordedStatus,
            let endpoint = job.context.endpoint
        else { return }
        let context = job.context
        let (method, route) = Self.split(endpoint)
        guard let credential = context.credential else {
            let request = LedgerRequest(method: method, route: route, status: status, target: action.target)
            return try append(
                AuditRecord(
                    actor: context.actor, ip: context.ip, requestID: context.requestID, payload: .request(request)),
                &head, now, txn)
        }
        let found: (KeyState, KeyState.SecretMatch)?
        do {
            found = try holder(of: credential, at: now)
        } catch LedgerError.unauthorized {
            found = nil
        }
        guard let (state, match) = found, match != .none else {
            return try recordFailure(.unknown, keyID: nil, method, route, context, &head, now, txn)
        }
        let id = state.id
        if case .unauthorized = error {
            let reason: AuthFailed.Reason =
                switch state.unusable(match: match, at: now) {
                case .revoked: .revoked
                case .suspended: .suspended
                case .some: .expired
                case nil: .unknown
                }
            return try recordFailure(reason, keyID: id, method, route, context, &head, now, txn)
        }
        // The credential's own standing (scope, address, limits); valid when only the
        // target or the transition refused it. A refusal's record spends nothing.
        let scope = action.scope?.rawValue
        let code =
            CredentialCheck.check(state, match: match, scope: scope, ip: context.ip, now: now)?.code
            ?? (action.scope == nil ? .insufficientScope : .valid)
        let accessed = KeyAccessed(
            code: code, scope: scope, endpoint: credential.endpoint, latencyMicros: latency(context), status: status)
        try append(
            .accessed(accessed), to: state, id: id, owner: state.owner, actor: Actor(kind: .key, id: id.description),
            context: context, head: &head, now: now, in: txn)
    }

    private func recordFailure(
        _ reason: AuthFailed.Reason, keyID: KeyID?, _ method: String, _ route: String, _ context: CommandContext,
        _ head: inout EventLog.Head, _ now: Int64, _ txn: borrowing Transaction
    ) throws {
        let failure = AuthFailed(method: method, route: route, reason: reason, keyID: keyID)
        let records = trail.failure(failure, ip: context.ip, requestID: context.requestID, now: now)
        for record in records.summaries { try append(record, &head, now, txn) }
        if let own = records.own { try append(own, &head, now, txn) }
    }

    /// `GET /v1/keys/{id}` as method and route template.
    static func split(_ endpoint: String) -> (method: String, route: String) {
        guard let space = endpoint.firstIndex(of: " ") else { return ("", endpoint) }
        return (String(endpoint[..<space]), String(endpoint[endpoint.index(after: space)...]))
    }
}

extension CredentialCheck.Refusal {
    /// The verification code a refused management use is recorded with.
    var code: VerifyCode {
        switch self {
        case .revoked: .revoked
        case .expired: .expired
        case .suspended: .suspended
        case .ipNotAllowed: .ipNotAllowed
        case .lacksScope: .insufficientScope
        case .rateLimited: .rateLimited
        case .outOfCredits: .usageExceeded
        }
    }
}

extension LedgerError {
    /// The HTTP status a refused request's audit record carries (API.md's envelope
    /// table); nil for bad input and for a ledger that cannot append, which record nothing.
    public var recordedStatus: UInt16? {
        switch self {
        case .invalid, .unavailable: nil
        case .notFound: 404
        case .conflict: 409
        case .unauthorized: 401
        case .forbidden: 403
        case .rateLimited: 429
        }
    }
}
