import Events
import Projections
import Store

/// What the writer decides webhook commands and expiry warnings against, in memory like
/// ``DecisionState``: every webhook, and the expiry warnings already given. Loaded from
/// the notification projection at open (which then includes the log's head) and kept
/// current by folding each appended event, with a journal to undo what an uncommitted
/// batch or a failed command changed.
struct NotificationDecisions {
    private(set) var webhooks: [WebhookID: Webhook] = [:]
    /// Per key: the expiry warned of and the shortest lead warned of for it.
    private var warned: [KeyID: (expiresAt: Int64, lead: Int64)] = [:]
    private enum Undo {
        case webhook(WebhookID, Webhook?)
        case warning(KeyID, (expiresAt: Int64, lead: Int64)?)
    }
    private var journal: [Undo] = []

    /// Loads both from the projection.
    mutating func load(_ projection: NotificationProjection, in txn: borrowing Transaction) throws {
        webhooks = [:]
        warned = [:]
        journal = []
        var after: WebhookID?
        while true {
            let page = try projection.list(owner: nil, after: after, limit: 1000, in: txn)
            for hook in page.webhooks { webhooks[hook.id] = hook }
            guard page.more, let last = page.webhooks.last else { break }
            after = last.id
        }
        try projection.forEachWarning(in: txn) { id, expiresAt, lead in warned[id] = (expiresAt, lead) }
    }

    /// Folds an appended event, as ``NotificationProjection`` will.
    mutating func apply(_ event: Event) {
        switch event.payload {
        case .expiring(let expiresAt, let lead):
            journal.append(.warning(event.keyID, warned[event.keyID]))
            warned[event.keyID] = (expiresAt, lead)
        case .updated(let u) where u.expiresAt != nil:
            guard warned[event.keyID] != nil else { return }
            journal.append(.warning(event.keyID, warned[event.keyID]))
            warned[event.keyID] = nil
        default:
            guard let id = event.payload.webhookID else { return }
            journal.append(.webhook(id, webhooks[id]))
            webhooks[id] = Webhook.evolve(webhooks[id], event)
        }
    }

    /// The expiry and shortest lead already warned of for `id`.
    func warning(_ id: KeyID) -> (expiresAt: Int64, lead: Int64)? { warned[id] }

    /// Webhooks of `owner` (the empty owner: the every-owner subscriptions).
    func count(owner: String) -> Int { webhooks.values.lazy.filter { $0.owner == owner }.count }

    var mark: Int { journal.count }

    mutating func rollback(to mark: Int) {
        while journal.count > mark {
            switch journal.removeLast() {
            case .webhook(let id, let before): webhooks[id] = before
            case .warning(let id, let before): warned[id] = before
            }
        }
    }

    mutating func committed() { journal.removeAll(keepingCapacity: true) }
}
