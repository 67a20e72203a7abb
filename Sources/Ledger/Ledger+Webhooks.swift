public import Events
public import Projections

extension Ledger {
    var notifications: NotificationProjection? {
        others.lazy.compactMap { $0 as? NotificationProjection }.first
    }

    /// Creates a webhook subscription (its id minted here).
    public func createWebhook(
        _ spec: WebhookSpec, context: CommandContext,
        completion: @escaping @Sendable (Result<Webhook, LedgerError>) -> Void
    ) {
        var random = SystemRandom()
        let id = WebhookID.make(at: clock.now(), using: &random)
        submitWebhook(.create(spec, id: id), context: context, completion: completion)
    }

    /// Runs a webhook command; the completion gets the webhook after it.
    public func submitWebhook(
        _ command: WebhookCommand, context: CommandContext,
        completion: @escaping @Sendable (Result<Webhook, LedgerError>) -> Void
    ) {
        submit(.webhook(command), context: context) { result in
            completion(
                result.flatMap { outcome in
                    guard case .webhook(let hook) = outcome else { return .failure(.unavailable("unexpected outcome")) }
                    return .success(hook)
                })
        }
    }

    /// The webhook `id` as the projection holds it, or nil.
    public func webhook(_ id: WebhookID) throws(LedgerError) -> Webhook? {
        guard let notifications else { return nil }
        return try readProjections { txn in try notifications.webhook(id, in: txn) }
    }

    /// A page of webhooks by id, of one owner or all.
    public func webhooks(owner: String?, after: WebhookID?, limit: Int) throws(LedgerError) -> (
        webhooks: [Webhook], more: Bool
    ) {
        guard let notifications else { return ([], false) }
        return try readProjections { txn in try notifications.list(owner: owner, after: after, limit: limit, in: txn) }
    }

    /// Records a leak report's true positives and applies the policy; the completion
    /// gets, per report, true for a true positive.
    public func reportLeaks(
        _ reports: [LeakReport], policy: LeakPolicy, context: CommandContext,
        completion: @escaping @Sendable (Result<[Bool], LedgerError>) -> Void
    ) {
        submit(.reportLeaks(reports, policy: policy), context: context) { result in
            completion(
                result.flatMap { outcome in
                    guard case .leaks(let labels) = outcome else { return .failure(.unavailable("unexpected outcome")) }
                    return .success(labels)
                })
        }
    }
}

extension Ledger {
    /// A page of keys that can still expire, soonest first; see
    /// ``KeyStateProjection/listByExpiry(owner:status:now:expiresBefore:after:limit:in:)``.
    public func listKeysByExpiry(owner: String?, status: KeyStatus?, expiresBefore: Int64?, after: [UInt8]?, limit: Int)
        throws(LedgerError) -> (keys: [KeyState], last: [UInt8]?, more: Bool)
    {
        let now = clock.now()
        return try readProjections { txn in
            try keys.listByExpiry(
                owner: owner, status: status, now: now, expiresBefore: expiresBefore, after: after, limit: limit,
                in: txn)
        }
    }
}
