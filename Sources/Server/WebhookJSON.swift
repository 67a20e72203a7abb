import Events
import JSON
import Notify
import Projections

/// Renders webhooks and delivery attempts (docs/openapi.yaml `Webhook`, `DeliveryAttempt`).
enum WebhookJSON {
    static func write(_ hook: Webhook, into w: inout JSONWriter) {
        w.beginObject()
        w.field("id", hook.id.description)
        w.field("owner", hook.owner.isEmpty ? nil : hook.owner)
        w.field("url", hook.url)
        EventJSON.strings("eventTypes", hook.eventTypes, &w)
        w.field("description", hook.description)
        w.field("enabled", hook.enabled)
        w.field("disabledReason", hook.disabledReason)
        w.field("secretVersion", Int64(hook.secretVersion))
        w.field("createdAt", timestamp: hook.createdAt)
        w.field("updatedAt", timestamp: hook.updatedAt)
        w.key("version")
        w.uint(hook.version)
        w.endObject()
    }

    static func write(_ attempt: DeliveryAttempt, into w: inout JSONWriter) {
        w.beginObject()
        w.key("attempt")
        w.uint(attempt.number)
        w.field("eventId", attempt.eventID)
        w.key("seq")
        w.uint(attempt.seq)
        w.field("attemptAt", timestamp: attempt.attemptAt)
        w.field("status", Int64(attempt.status))
        w.field("durationMs", Int64(attempt.durationMs))
        w.field("error", attempt.error)
        w.field("nextAttemptAt", timestamp: attempt.nextAttemptAt)
        w.endObject()
    }
}
