public import Events

/// A webhook subscription as its events made it. Its signing secret is not here: it is
/// derived from the ledger's webhook key, ``id`` and ``secretVersion``.
public struct Webhook: Equatable, Sendable {
    public var id: WebhookID
    /// The owner whose events it receives; empty: every owner's (root's subscriptions).
    public var owner: String
    public var url: String
    public var eventTypes: [String]
    public var description: String?
    public var secretVersion: UInt32 = 1
    public var enabled = true
    /// Why it was disabled (`webhook.disabled`, or paused by a PATCH); nil while enabled.
    public var disabledReason: String?
    public var createdAt: Int64
    public var updatedAt: Int64
    /// Events on it so far (what If-Match would compare).
    public var version: UInt64 = 1

    /// True when an event of `type` is for this subscription: listed, or `*` (every type
    /// but `key.accessed`, which only an explicit listing receives: it is nearly every
    /// event of a log).
    public func wants(_ type: EventType) -> Bool {
        eventTypes.contains(type.wireName) || (eventTypes.contains("*") && type != .accessed)
    }

    /// True when `event` is for this subscription (owner and type).
    public func wants(_ event: Event) -> Bool {
        (owner.isEmpty || owner == event.owner) && wants(event.type)
    }

    /// The fold: the webhook after `event`, given it before (nil before it exists or
    /// after it was deleted). Events about other things leave it as it is.
    public static func evolve(_ state: Webhook?, _ event: Event) -> Webhook? {
        switch event.payload {
        case .webhookCreated(let c):
            return Webhook(
                id: c.id, owner: event.owner, url: c.url, eventTypes: c.eventTypes, description: c.description,
                createdAt: event.time, updatedAt: event.time)
        case .webhookDeleted:
            return nil
        default:
            break
        }
        guard var s = state else { return nil }
        switch event.payload {
        case .webhookUpdated(let u):
            if let url = u.url { s.url = url }
            if let types = u.eventTypes { s.eventTypes = types }
            if let description = u.description { s.description = description }
            if let enabled = u.enabled {
                s.enabled = enabled
                s.disabledReason = enabled ? nil : "paused"
            }
        case .webhookSecretRotated(_, let version):
            s.secretVersion = version
        case .webhookDisabled(_, let reason):
            s.enabled = false
            s.disabledReason = reason
        default:
            return s
        }
        s.updatedAt = event.time
        s.version += 1
        return s
    }

    public func encoded() -> [UInt8] {
        var w = BinaryWriter(capacity: 128)
        w.u8(1)
        w.raw(id.bytes)
        w.string(owner)
        w.string(url)
        w.strings(eventTypes)
        w.optionalString(description)
        w.varint(UInt64(secretVersion))
        w.u8(enabled ? 1 : 0)
        w.optionalString(disabledReason)
        w.i64(createdAt)
        w.i64(updatedAt)
        w.varint(version)
        return w.bytes
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(EventDecodingError) {
        var r = BinaryReader(bytes)
        guard try r.u8() == 1 else { throw r.fail("unknown webhook row version") }
        guard let raw = KeyID(bytes: try r.raw(16)) else { throw r.fail("bad webhook id") }
        id = WebhookID(raw: raw)
        owner = try r.string()
        url = try r.string()
        eventTypes = try r.strings()
        description = try r.optionalString()
        secretVersion = UInt32(truncatingIfNeeded: try r.varint())
        enabled = try r.u8() == 1
        disabledReason = try r.optionalString()
        createdAt = try r.i64()
        updatedAt = try r.i64()
        version = try r.varint()
    }

    init(
        id: WebhookID, owner: String, url: String, eventTypes: [String], description: String?, createdAt: Int64,
        updatedAt: Int64
    ) {
        self.id = id
        self.owner = owner
        self.url = url
        self.eventTypes = eventTypes
        self.description = description
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
