import Events
import Projections
import Store

extension CommandExecutor {
    /// One management command in its own child transaction: a thrown ``LedgerError``
    /// undoes everything it appended, the credential's recorded use included.
    func execute(_ job: Writer.Job, _ head: inout EventLog.Head, _ now: Int64, _ txn: borrowing Transaction) throws
        -> Outcome
    {
        let (actor, credentialKey) = try authorize(job.context, &head, now, txn)
        let ownerLimit = credentialKey?.owner
        /// A ledger key may not hand out a `ledger:` scope it does not hold itself.
        func checkGrant(_ scopes: [String]?) throws {
            guard let credentialKey, let scopes else { return }
            for scope in scopes where scope.hasPrefix("ledger:") && !credentialKey.scopes.contains(scope) {
                throw LedgerError.forbidden("a ledger key cannot grant the scope \(scope), which it does not hold")
            }
        }
        func load(_ id: KeyID) throws -> KeyState {
            guard let state = try keys.state(of: id, in: txn) else { throw LedgerError.notFound("no key \(id)") }
            if let ownerLimit, state.owner != ownerLimit {
                throw LedgerError.forbidden("key \(id) belongs to another owner")
            }
            return state
        }
        func commit(_ payload: EventPayload?, _ state: KeyState) throws -> Outcome {
            guard let payload else { return .key(state) }
            let new = try append(
                payload, to: state, id: state.id, owner: state.owner, actor: actor,
                context: job.context, head: &head, now: now, in: txn)
            return .key(new ?? state)
        }
        switch job.command {
        case .create(let spec, let id, let digest):
            if let ownerLimit, spec.owner != ownerLimit {
                throw LedgerError.forbidden("this credential may only create keys for owner \(ownerLimit)")
            }
            try checkGrant(spec.scopes)
            let payload = try Decisions.create(spec, secretDigest: digest, now: now)
            guard try keys.state(of: id, in: txn) == nil else { throw LedgerError.conflict("key id \(id) is taken") }
            guard
                let new = try append(
                    payload, to: nil, id: id, owner: spec.owner, actor: actor,
                    context: job.context, head: &head, now: now, in: txn)
            else {
                throw LedgerError.unavailable("the new key did not fold")
            }
            return .key(new)
        case .update(let id, let changes, let expected):
            let state = try load(id)
            try checkGrant(changes.scopes)
            return try commit(try Decisions.update(state, changes, expectedVersion: expected, now: now), state)
        case .rotate(let id, let grace, let digest):
            let state = try load(id)
            return try commit(
                try Decisions.rotate(state, gracePeriodSeconds: grace, secretDigest: digest, now: now), state)
        case .suspend(let id, let reason):
            let state = try load(id)
            return try commit(try Decisions.suspend(state, reason: reason), state)
        case .reactivate(let id):
            let state = try load(id)
            return try commit(try Decisions.reactivate(state), state)
        case .revoke(let id, let reason):
            let state = try load(id)
            return try commit(try Decisions.revoke(state, reason: reason), state)
        case .addCredits(let id, let amount):
            let state = try load(id)
            return try commit(try Decisions.addCredits(state, amount: amount), state)
        case .expireDue:
            var count = 0
            for id in try keys.expiring(atOrBefore: now, limit: 1000, in: txn) {
                guard let state = try keys.state(of: id, in: txn), let payload = Decisions.expire(state, now: now)
                else { continue }
                try append(
                    payload, to: state, id: id, owner: state.owner, actor: .sweeper,
                    context: job.context, head: &head, now: now, in: txn)
                count += 1
            }
            return .expired(count: count)
        case .recordAccess:
            return .recorded
        case .verify:
            throw LedgerError.invalid(field: "command", reason: "verification is not a management command")
        }
    }

    /// Checks a management credential and records its use. Returns the actor to put on
    /// the command's events and, for a ledger key, that key (its owner bounds what the
    /// command may touch).
    func authorize(
        _ context: CommandContext, _ head: inout EventLog.Head, _ now: Int64,
        _ txn: borrowing Transaction
    ) throws -> (Actor, KeyState?) {
        guard let credential = context.credential else { return (context.actor, nil) }
        let (state, match) = try keys.holder(of: credential, at: now, in: txn)
        let id = state.id
        let request = VerifyRequest(scope: credential.scope, ip: context.ip, endpoint: credential.endpoint)
        let decision = VerifyDecision.decide(
            state, match: match, request: request, latencyMicros: latency(context), now: now)
        let actor = Actor(kind: .key, id: id.description)
        var current = state
        for payload in decision.events {
            current =
                try append(
                    payload, to: current, id: id, owner: state.owner, actor: actor,
                    context: context, head: &head, now: now, in: txn) ?? current
        }
        guard decision.code == .valid else {
            let result = VerifyDecision.result(code: decision.code, after: current, now: now)
            throw LedgerError.refusing(credential, code: decision.code, retryAfterSeconds: result.retryAfterSeconds)
        }
        return (actor, current)
    }
}

extension KeyStateProjection {
    /// The key a management credential's secret opens at `now`, and how it matched.
    ///
    /// - Throws: ``LedgerError/unauthorized(_:)`` when no key has that secret (or the
    ///   previous secret's grace period is over).
    func holder(of credential: ManagementCredential, at now: Int64, in txn: borrowing Transaction) throws -> (
        KeyState, KeyState.SecretMatch
    ) {
        guard let id = try keyID(forSecret: credential.digest, in: txn), let state = try state(of: id, in: txn) else {
            throw LedgerError.unauthorized("the credential is not a known key")
        }
        let match = state.secretMatches(credential.digest, at: now)
        guard match != .none else { throw LedgerError.unauthorized("the credential is not a known key") }
        return (state, match)
    }
}

extension LedgerError {
    /// Why a management credential was refused, from its verification code.
    static func refusing(_ credential: ManagementCredential, code: VerifyCode, retryAfterSeconds: Int?) -> LedgerError {
        switch code {
        case .valid, .notFound, .expired, .revoked, .suspended:
            .unauthorized("the credential is \(code.wireName.lowercased().replacingUnderscores)")
        case .insufficientScope:
            .forbidden("the credential lacks the scope \(credential.scope)")
        case .ipNotAllowed:
            .forbidden("the credential may not be used from this address")
        case .rateLimited:
            .rateLimited("the credential is over its rate limit", retryAfterSeconds: retryAfterSeconds ?? 1)
        case .usageExceeded:
            .rateLimited("the credential is out of credits", retryAfterSeconds: retryAfterSeconds ?? 3600)
        }
    }
}

extension String {
    var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
}
