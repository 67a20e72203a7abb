import Events
import Projections
import Store

extension CommandExecutor {
    /// Runs a webhook, expiry-warning or leak command; nil for every other command.
    func executeNotification(_ job: Writer.Job, _ head: inout EventLog.Head, _ now: Int64, _ txn: borrowing Transaction)
        throws -> Outcome?
    {
        switch job.command {
        case .webhook(let command):
            return try executeWebhook(command, job.context, &head, now, txn)
        case .warnExpiring(let leads):
            guard job.context.credential == nil, job.context.actor == .sweeper else {
                throw LedgerError.invalid(field: "command", reason: "this command is the ledger's own")
            }
            return try warnExpiring(leads, job.context, &head, now, txn)
        case .reportLeaks(let reports, let policy):
            return try reportLeaks(reports, policy, job.context, &head, now, txn)
        default:
            return nil
        }
    }

    func executeWebhook(
        _ command: WebhookCommand, _ context: CommandContext, _ head: inout EventLog.Head, _ now: Int64,
        _ txn: borrowing Transaction
    ) throws -> Outcome {
        func commit(_ payload: EventPayload, owner: String, actor: Actor) throws -> Webhook? {
            try append(
                payload, to: nil, id: .none, owner: owner, actor: actor, context: context, head: &head, now: now,
                in: txn)
            return payload.webhookID.flatMap { notices.webhooks[$0] }
        }
        switch command {
        case .create(let spec, let id):
            let (grant, _) = try authorize(
                .createWebhook(owner: spec.owner), nil, context, status: 201, &head, now, txn)
            try WebhookRules.url(spec.url)
            try WebhookRules.eventTypes(spec.eventTypes)
            try WebhookRules.description(spec.description)
            if let owner = spec.owner { try KeyRules.owner(owner) }
            guard notices.webhooks[id] == nil else { throw LedgerError.conflict("webhook id \(id) is taken") }
            let created = WebhookCreated(
                id: id, url: spec.url, eventTypes: spec.eventTypes, description: spec.description)
            let owner = grant.owner ?? spec.owner ?? ""
            guard notices.count(owner: owner) < WebhookRules.maxPerOwner else {
                throw LedgerError.conflict(
                    "owner \(owner.isEmpty ? "(every owner)" : owner) has \(WebhookRules.maxPerOwner) webhooks already: delete one first"
                )
            }
            guard let hook = try commit(.webhookCreated(created), owner: owner, actor: grant.actor) else {
                throw LedgerError.unavailable("the new webhook did not fold")
            }
            return .webhook(hook)
        case .disable(let id, let reason):
            guard context.credential == nil, context.actor == .deliverer else {
                throw LedgerError.invalid(field: "command", reason: "only the deliverer disables a webhook")
            }
            guard let hook = notices.webhooks[id] else { throw LedgerError.notFound("no webhook \(id)") }
            guard hook.enabled else { return .webhook(hook) }
            return .webhook(
                try commit(.webhookDisabled(id, reason: reason), owner: hook.owner, actor: .deliverer) ?? hook)
        case .update(let id, _), .delete(let id), .rotateSecret(let id):
            let hook = notices.webhooks[id]
            let (grant, _) = try authorize(
                .manageWebhook(id, owner: hook?.owner), nil, context, status: 200, &head, now, txn)
            guard let hook else { throw LedgerError.notFound("no webhook \(id)") }
            let payload: EventPayload
            switch command {
            case .update(_, let changes):
                // Nothing to change: the webhook as it is, and no event.
                if changes == WebhookChanges() { return .webhook(hook) }
                if let url = changes.url { try WebhookRules.url(url) }
                if let types = changes.eventTypes { try WebhookRules.eventTypes(types) }
                if let description = changes.description { try WebhookRules.description(description) }
                payload = .webhookUpdated(
                    WebhookUpdated(
                        id: id, url: changes.url, eventTypes: changes.eventTypes, description: changes.description,
                        enabled: changes.enabled))
            case .delete:
                payload = .webhookDeleted(id)
            default:
                guard hook.secretVersion < UInt32.max else { throw LedgerError.conflict("webhook \(id) cannot rotate") }
                payload = .webhookSecretRotated(id, version: hook.secretVersion + 1)
            }
            let after = try commit(payload, owner: hook.owner, actor: grant.actor)
            return .webhook(after ?? hook)
        }
    }

    /// Appends `key.expiring` for each key whose expiry is within a lead time and that has
    /// not been warned of that lead (or a shorter one) for this expiry. A key that crossed
    /// several lead times at once (created close to its expiry) gets the shortest.
    func warnExpiring(
        _ leads: [Int64], _ context: CommandContext, _ head: inout EventLog.Head, _ now: Int64,
        _ txn: borrowing Transaction
    ) throws -> Outcome {
        var count = 0
        for (id, lead) in dueWarnings(leads: leads, now: now) {
            guard let state = try state(of: id), let expiresAt = state.expiresAt else { continue }
            try append(
                .expiring(expiresAt: expiresAt, leadSeconds: lead), to: state, id: id, owner: state.owner,
                actor: .sweeper, context: context, head: &head, now: now, in: txn)
            count += 1
        }
        return .warned(count: count)
    }

    /// Records each true positive (`key.leaked`), then the owner's policy.
    func reportLeaks(
        _ reports: [LeakReport], _ serverPolicy: LeakPolicy, _ context: CommandContext, _ head: inout EventLog.Head,
        _ now: Int64, _ txn: borrowing Transaction
    ) throws -> Outcome {
        let grant: Grant
        if context.credential == nil, context.actor.kind == .system {
            guard context.actor.id.hasPrefix("leak-reporter:") else {
                throw LedgerError.forbidden("only a verified leak report or an administrator may report leaks")
            }
            grant = try Access.authorize(
                .leakReporter(keyIdentifier: String(context.actor.id.dropFirst(14))), .reportLeaks, target: nil,
                use: Access.Use(ip: context.ip, endpoint: ""), now: now)
        } else {
            grant = try authorize(.reportLeaks, nil, context, status: nil, &head, now, txn).0
        }
        var labels: [Bool] = []
        for report in reports {
            // The checksum gate: a token not in KeyLedger's format is no key of ours, and
            // costs no lookup.
            guard Secret.isWellFormed(report.token), let (position, _) = decisions.lookup(Secret.digest(report.token)),
                let state = try state(of: decisions.decisionView(position).id)
            else {
                labels.append(false)
                continue
            }
            let match = state.secretMatches(Secret.digest(report.token), at: now)
            guard match == .current || match == .previous, !state.status(at: now).isFinal else {
                labels.append(false)
                continue
            }
            labels.append(true)
            let id = state.id
            let leaked =
                try append(
                    .leaked(url: report.url, source: report.source), to: state, id: id, owner: state.owner,
                    actor: grant.actor, context: context, head: &head, now: now, in: txn) ?? state
            let followUp: EventPayload?
            // The owner's own policy (PUT /v1/owners), else the server's (--leak-policy).
            switch quotas.owner(state.owner)?.settings.leakPolicy ?? serverPolicy {
            case .revoke: followUp = try? Decisions.revoke(leaked, reason: "leaked")
            case .suspend: followUp = try? Decisions.suspend(leaked, reason: "leaked", now: now)
            case .notify: followUp = nil
            }
            if let followUp {
                try append(
                    followUp, to: leaked, id: id, owner: state.owner, actor: grant.actor, context: context, head: &head,
                    now: now, in: txn)
            }
        }
        return .leaks(labels)
    }
}

extension CommandExecutor {
    /// The lead each key expiring within the longest lead is due a warning of, soonest
    /// expiry first: the shortest lead whose moment has come, unless the log already
    /// holds a warning of that lead or a shorter one for the key's current expiry.
    func dueWarnings(leads: [Int64], now: Int64) -> [(KeyID, Int64)] {
        guard let longest = leads.max() else { return [] }
        var due: [(KeyID, Int64)] = []
        for (id, expiresAt) in decisions.expiries(atOrBefore: now &+ longest &* 1_000_000, limit: Int.max) {
            guard expiresAt > now, let lead = ExpiryWarnings.leadDue(leads: leads, expiresAt: expiresAt, now: now)
            else { continue }
            if let given = notices.warning(id), given.expiresAt == expiresAt, given.lead <= lead { continue }
            due.append((id, lead))
        }
        return due
    }
}

/// When expiry warnings are due (API.md: once per lead time ahead of each expiry).
public enum ExpiryWarnings {
    /// The shortest lead time whose warning moment (`expiresAt - lead`) is at or before `now`.
    public static func leadDue(leads: [Int64], expiresAt: Int64, now: Int64) -> Int64? {
        leads.filter { expiresAt - $0 * 1_000_000 <= now }.min()
    }
}
