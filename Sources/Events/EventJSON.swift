public import JSON

/// Renders an event (API.md "An event"). The data never holds a secret or a digest.
public enum EventJSON {
    /// Writes the event object with its chain links; `extra` adds fields at its end
    /// (the record and proof of exports).
    public static func write(
        _ e: Event, prevHash: Digest, hash: Digest, into w: inout JSONWriter,
        extra: (inout JSONWriter) -> Void = { _ in }
    ) {
        w.beginObject()
        w.key("seq")
        w.uint(e.seq)
        w.field("id", ChainedRecord.eventID(hash))
        w.field("type", e.type.wireName)
        w.field("time", timestamp: e.time)
        if !e.keyID.isNone { w.field("keyId", e.keyID.description) }
        w.field("owner", e.owner)
        w.key("actor")
        w.beginObject()
        w.field("type", e.actor.kind.wireName)
        w.field("id", e.actor.id)
        w.endObject()
        w.field("ip", e.ip?.description)
        w.field("requestId", e.requestID)
        w.key("data")
        data(e.payload, &w)
        w.field("prevHash", prevHash.hex)
        w.field("hash", hash.hex)
        extra(&w)
        w.endObject()
    }

    /// Writes the type-specific `data` object.
    public static func data(_ payload: EventPayload, _ w: inout JSONWriter) {
        w.beginObject()
        switch payload {
        case .created(let c):
            w.field("name", c.name)
            w.field("prefix", c.prefix)
            w.field("environment", c.environment)
            strings("scopes", c.scopes, &w)
            strings("accounts", c.accounts, &w)
            strings("ipAllowlist", c.ipAllowlist.map(\.description), &w)
            w.field("expiresAt", timestamp: c.expiresAt)
            limits(c.rateLimits, &w)
            w.field("credits", c.credits)
            metadata(c.metadata, &w)
        case .updated(let u):
            if let name = u.name { w.field("name", name) }
            if let scopes = u.scopes { strings("scopes", scopes, &w) }
            if let accounts = u.accounts { strings("accounts", accounts, &w) }
            if let list = u.ipAllowlist { strings("ipAllowlist", list.map(\.description), &w) }
            if let expiresAt = u.expiresAt { w.field("expiresAt", timestamp: expiresAt) }
            if let rateLimits = u.rateLimits { limits(rateLimits, &w) }
            if let meta = u.metadata { metadata(meta, &w) }
        case .rotated(let r):
            w.field("gracePeriodSeconds", Int64(r.gracePeriodSeconds))
            w.field("previousSecretExpiresAt", timestamp: r.previousSecretExpiresAt)
        case .suspended(let reason), .revoked(let reason):
            w.field("reason", reason)
        case .reactivated, .expired:
            break
        case .creditsAdded(let add, let balance):
            w.field("add", add)
            w.field("balance", balance)
        case .creditsSet(let balance):
            w.field("balance", balance)
        case .creditsSubtracted(let subtract, let balance):
            w.field("subtract", subtract)
            w.field("balance", balance)
        case .ownerUpdated, .planUpdated, .configured, .creditsRefilled, .ownerCreditsRefilled, .purged:
            quotaData(payload, &w)
        case .accessed(let a):
            w.field("code", a.code.wireName)
            w.field("scope", a.scope)
            w.field("account", a.account)
            w.field("endpoint", a.endpoint)
            w.field("latencyMicros", Int64(a.latencyMicros))
            w.field("cost", Int64(a.cost))
            w.field("status", a.status.map(Int64.init))
        case .request(let r):
            w.field("method", r.method)
            w.field("route", r.route)
            w.field("status", Int64(r.status))
            w.field("keyId", r.target?.description)
            w.key("count")
            w.uint(r.count)
        case .authFailed(let f):
            w.field("method", f.method)
            w.field("route", f.route)
            w.field("reason", f.reason?.wireName)
            w.field("keyId", f.keyID?.description)
            w.key("count")
            w.uint(f.count)
        case .webhookCreated, .webhookUpdated, .webhookDeleted, .webhookSecretRotated, .webhookDisabled,
            .expiring, .leaked:
            notificationData(payload, &w)
        }
        w.endObject()
    }

    /// Writes `name: [strings]`.
    public static func strings(_ name: String, _ list: [String], _ w: inout JSONWriter) {
        w.key(name)
        w.beginArray()
        for s in list { w.string(s) }
        w.endArray()
    }

    /// Writes `rateLimits: [{name?, limit, windowSeconds}]` (`name` only when the limit has one).
    public static func limits(_ list: [RateLimit], _ w: inout JSONWriter) {
        w.key("rateLimits")
        w.beginArray()
        for limit in list {
            w.beginObject()
            if let name = limit.name { w.field("name", name) }
            w.key("limit")
            w.uint(limit.limit)
            w.key("windowSeconds")
            w.uint(UInt64(limit.windowSeconds))
            w.endObject()
        }
        w.endArray()
    }

    /// Writes `metadata: {k: v}` sorted by key.
    public static func metadata(_ map: [String: String], _ w: inout JSONWriter) {
        w.key("metadata")
        w.beginObject()
        for (k, v) in map.sorted(by: { $0.key < $1.key }) { w.field(k, v) }
        w.endObject()
    }
}
