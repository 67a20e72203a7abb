import Events
import Projections
import Store

extension CommandExecutor {
    /// One management command in its own child transaction: a thrown ``LedgerError``
    /// undoes everything it appended, the credential's recorded use included.
    ///
    /// The principal's right to the command is decided once, by ``Access``, over the
    /// state this transaction sees; the command's own decision follows.
    func execute(_ job: Writer.Job, _ head: inout EventLog.Head, _ now: Int64, _ txn: borrowing Transaction) throws
        -> Outcome
    {
        if case .rotateSelf(let grace, let digest) = job.command {
            return try rotateSelf(job, grace, digest, &head, now, txn)
        }
        if let outcome = try executeNotification(job, &head, now, txn) { return outcome }
        guard let action = job.command.action else {
            if case .expireDue = job.command, job.context.credential == nil {
                return try expireDue(job, &head, now, txn)
            }
            if case .audit(let records) = job.command, job.context.credential == nil {
                return try appendAudit(records, &head, now, txn)
            }
            throw LedgerError.invalid(field: "command", reason: "this command is the ledger's own, not a principal's")
        }
        let target = try action.target.flatMap { try state(of: $0) }
        let (grant, credential) = try authorize(
            action, target, job.context, status: job.command.statusWhenGranted, &head, now, txn)
        /// The target as the command sees it: the credential's own key after its use
        /// was recorded, when the credential acts on itself.
        func load(_ id: KeyID) throws -> KeyState {
            if let credential, credential.id == id { return credential }
            guard let target else { throw LedgerError.notFound("no key \(id)") }
            return target
        }
        func commit(_ payload: EventPayload?, _ state: KeyState) throws -> Outcome {
            guard let payload else { return .key(state) }
            let new = try append(
                payload, to: state, id: state.id, owner: state.owner, actor: grant.actor,
                context: job.context, head: &head, now: now, in: txn)
            return .key(new ?? state)
        }
        switch job.command {
        case .create(var spec, let id, let digest):
            try KeyRules.owner(spec.owner)
            if let name = spec.quota.plan { try OwnerRules.planName(name) }
            let plan = spec.quota.plan.flatMap { quotas.plan($0) }
            let settings = try Decisions.quotaSettings(spec, plan: plan, owner: quotas.owner(spec.owner))
            if spec.credits == nil { spec.credits = plan?.settings.credits }
            let payload = try Decisions.create(spec, secretDigest: digest, now: now)
            guard decisions.position(of: id) == nil else { throw LedgerError.conflict("key id \(id) is taken") }
            guard decisions.lookup(digest) == nil else {
                throw LedgerError.conflict("a key with this secret exists already")
            }
            guard
                var new = try append(
                    payload, to: nil, id: id, owner: spec.owner, actor: grant.actor,
                    context: job.context, head: &head, now: now, in: txn)
            else {
                throw LedgerError.unavailable("the new key did not fold")
            }
            if !settings.isDefault {
                new = try append(
                    .configured(settings), to: new, id: id, owner: spec.owner, actor: grant.actor,
                    context: job.context, head: &head, now: now, in: txn) ?? new
            }
            return .key(new)
        case .update(let id, let changes, let expected):
            let state = try load(id)
            guard case .key(let updated) = try commit(
                try Decisions.update(state, changes, expectedVersion: expected, now: now), state)
            else { throw LedgerError.unavailable("the key did not fold") }
            if case .some(.some(let plan)) = changes.plan { try OwnerRules.planName(plan) }
            let newPlan = (changes.plan ?? nil).flatMap { quotas.plan($0) }
            let configured = try Decisions.configure(quotas.keyQuota(id), changes, newPlan: newPlan)
            if configured != nil { try Decisions.mutable(updated, now: now) }
            return try commit(configured, updated)
        case .rotate(let id, let grace, let digest):
            let state = try load(id)
            return try commit(
                try Decisions.rotate(state, gracePeriodSeconds: grace, secretDigest: digest, now: now), state)
        case .suspend(let id, let reason):
            let state = try load(id)
            return try commit(try Decisions.suspend(state, reason: reason, now: now), state)
        case .reactivate(let id):
            let state = try load(id)
            return try commit(try Decisions.reactivate(state, now: now), state)
        case .revoke(let id, let reason):
            let state = try load(id)
            return try commit(try Decisions.revoke(state, reason: reason), state)
        case .addCredits(let id, let amount):
            let state = try load(id)
            return try commit(try Decisions.addCredits(state, amount: amount, now: now), state)
        case .setCredits(let id, let balance):
            let state = try load(id)
            return try commit(try Decisions.setCredits(state, balance: balance, now: now), state)
        case .subtractCredits(let id, let amount):
            let state = try load(id)
            return try commit(try Decisions.subtractCredits(state, amount: amount, now: now), state)
        case .putOwner(let name, let changes):
            try KeyRules.owner(name)
            if case .some(.some(let plan)) = changes.plan { try OwnerRules.planName(plan) }
            let old = quotas.owner(name)
            let newPlan = (changes.plan ?? nil).flatMap { quotas.plan($0) }
            if let payload = try Decisions.putOwner(old, name: name, changes, newPlan: newPlan) {
                try append(
                    payload, to: nil, id: .none, owner: name, actor: grant.actor, context: job.context, head: &head,
                    now: now, in: txn)
            }
            guard let owner = quotas.owner(name) else { throw LedgerError.unavailable("the owner did not fold") }
            return .owner(owner)
        case .putPlan(let name, let changes):
            try OwnerRules.planName(name)
            if let payload = try Decisions.putPlan(quotas.plan(name), name: name, changes) {
                try append(
                    payload, to: nil, id: .none, owner: "", actor: grant.actor, context: job.context, head: &head,
                    now: now, in: txn)
            }
            guard let plan = quotas.plan(name) else { throw LedgerError.unavailable("the plan did not fold") }
            return .plan(plan)
        case .authorize, .recordUse:
            return .granted(grant)
        case .expireDue, .verify, .audit, .webhook, .warnExpiring, .reportLeaks, .rotateSelf:
            throw LedgerError.invalid(field: "command", reason: "this command is the ledger's own, not a principal's")
        }
    }

    /// Marks every key whose expiry has passed as expired (the sweeper's command).
    func expireDue(_ job: Writer.Job, _ head: inout EventLog.Head, _ now: Int64, _ txn: borrowing Transaction) throws
        -> Outcome
    {
        var count = 0
        for id in decisions.expiring(atOrBefore: now, limit: 1000) {
            guard let state = try state(of: id), let payload = Decisions.expire(state, now: now)
            else { continue }
            try append(
                payload, to: state, id: id, owner: state.owner, actor: .sweeper,
                context: job.context, head: &head, now: now, in: txn)
            count += 1
        }
        count += try refillAndPurgeDue(job, &head, now, txn)
        return .expired(count: count)
    }

    /// Supplies ``Access`` with the state it decides over (the credential's key, the
    /// target) and appends the grant's events.
    ///
    /// ``Action/rotateSelf(allowed:)`` is decided with the credential's current
    /// `selfRotate` (``selfRotates(_:)``), whatever `allowed` the asker passed, and
    /// ``Action/manageWebhook(_:owner:)`` with the webhook's current owner.
    ///
    /// - Parameter status: the answer's HTTP status the recorded use carries; nil
    ///   decides without recording (a read's authorization, recorded after the read).
    /// - Returns: the grant and, for a ledger key, that key's state after its recorded use.
    func authorize(
        _ action: Action, _ target: KeyState?, _ context: CommandContext, status: UInt16?,
        _ head: inout EventLog.Head, _ now: Int64, _ txn: borrowing Transaction
    ) throws -> (Grant, KeyState?) {
        guard let credential = context.credential else {
            let grant = try Access.authorize(
                .administrator(context.actor), action, target: target, use: Access.Use(ip: context.ip, endpoint: ""),
                now: now)
            return (grant, nil)
        }
        let (state, match) = try holder(of: credential, at: now)
        let use = Access.Use(
            ip: context.ip, endpoint: credential.endpoint, latencyMicros: latency(context), status: status)
        // Whether a key may rotate itself is the key's own setting as it is now, not the asker's
        // word; so is a webhook's owner (none: deleted), which the asker read from the projections.
        let decided =
            switch action {
            case .rotateSelf: Action.rotateSelf(allowed: selfRotates(state.id))
            case .manageWebhook(let id, _): Action.manageWebhook(id, owner: notices.webhooks[id]?.owner)
            default: action
            }
        let grant = try Access.authorize(.key(state, match), decided, target: target, use: use, now: now)
        guard status != nil else { return (grant, state) }
        var current = state
        for payload in grant.events {
            current =
                try append(
                    payload, to: current, id: state.id, owner: state.owner, actor: grant.actor,
                    context: context, head: &head, now: now, in: txn) ?? current
        }
        return (grant, current)
    }
}

extension CommandExecutor {
    /// The key a management credential's secret opens at `now`, and how it matched.
    ///
    /// - Throws: ``LedgerError/unauthorized(_:)`` when no key has that secret.
    func holder(of credential: ManagementCredential, at now: Int64) throws -> (KeyState, KeyState.SecretMatch) {
        guard let (position, previous) = decisions.lookup(credential.digest),
            let state = try state(of: decisions.keys[Int(position)].id)
        else {
            throw LedgerError.unauthorized("the credential is not a known key")
        }
        return (state, decisions.match(position, previous: previous, at: now))
    }
}
