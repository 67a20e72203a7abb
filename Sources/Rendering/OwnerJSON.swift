import Events
public import JSON
public import Projections

/// Renders owner and plan records (API.md, "Owners, plans and quotas").
public enum OwnerJSON {
    public static func write(_ o: OwnerState, into w: inout JSONWriter) {
        w.beginObject()
        w.field("owner", o.name)
        EventJSON.limits(o.settings.rateLimits, &w)
        w.field("credits", o.settings.credits)
        EventJSON.refill(o.settings.refill, &w)
        w.field("plan", o.settings.plan)
        EventJSON.metadata(o.settings.metadata, &w)
        w.field("leakPolicy", o.settings.leakPolicy?.wireName)
        w.field("purgeAfterSeconds", o.settings.purgeAfterSeconds)
        w.field("createdAt", timestamp: o.createdAt)
        w.field("updatedAt", timestamp: o.updatedAt)
        w.key("version")
        w.uint(o.version)
        w.endObject()
    }

    public static func write(_ p: PlanState, into w: inout JSONWriter) {
        w.beginObject()
        w.field("plan", p.name)
        EventJSON.limits(p.settings.rateLimits, &w)
        w.field("credits", p.settings.credits)
        EventJSON.refill(p.settings.refill, &w)
        w.field("createdAt", timestamp: p.createdAt)
        w.field("updatedAt", timestamp: p.updatedAt)
        w.key("version")
        w.uint(p.version)
        w.endObject()
    }

    /// The quota fields of a key object.
    public static func keyFields(_ q: KeyQuota?, into w: inout JSONWriter) {
        let settings = q?.settings ?? KeyQuotaSettings()
        w.field("plan", settings.plan)
        EventJSON.refill(settings.refill, &w)
        w.field("selfRotate", settings.selfRotate)
        w.field("purgeAfterSeconds", settings.purgeAfterSeconds)
    }
}
