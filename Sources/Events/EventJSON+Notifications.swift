import JSON

extension EventJSON {
    /// The `data` fields of webhook, expiry-warning and leak events.
    static func notificationData(_ payload: EventPayload, _ w: inout JSONWriter) {
        switch payload {
        case .webhookCreated(let c):
            w.field("webhookId", c.id.description)
            w.field("url", c.url)
            strings("eventTypes", c.eventTypes, &w)
            w.field("description", c.description)
        case .webhookUpdated(let u):
            w.field("webhookId", u.id.description)
            if let url = u.url { w.field("url", url) }
            if let types = u.eventTypes { strings("eventTypes", types, &w) }
            if let description = u.description { w.field("description", description) }
            if let enabled = u.enabled { w.field("enabled", enabled) }
        case .webhookDeleted(let id):
            w.field("webhookId", id.description)
        case .webhookSecretRotated(let id, let version):
            w.field("webhookId", id.description)
            w.field("secretVersion", Int64(version))
        case .webhookDisabled(let id, let reason):
            w.field("webhookId", id.description)
            w.field("reason", reason)
        case .expiring(let expiresAt, let lead):
            w.field("expiresAt", timestamp: expiresAt)
            w.field("leadSeconds", lead)
        case .leaked(let url, let source):
            w.field("url", url)
            w.field("source", source)
        default:
            break
        }
    }
}
