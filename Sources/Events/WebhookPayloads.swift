/// The identifier of a webhook subscription: the same 128 bits as a ``KeyID`` (creation
/// time first, so ids sort by creation), written `wh_` + 22 base62 digits.
public struct WebhookID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let raw: KeyID

    public init(raw: KeyID) { self.raw = raw }

    /// A new id for a webhook created at `micros`.
    public static func make(at micros: Int64, using random: inout some RandomNumberGenerator) -> WebhookID {
        WebhookID(raw: KeyID.make(at: micros, using: &random))
    }

    /// Parses `wh_` + 22 base62 digits; nil for anything else.
    public init?(_ text: some StringProtocol) {
        guard text.hasPrefix("wh_"), let raw = KeyID("key_" + text.dropFirst(3)) else { return nil }
        self.raw = raw
    }

    public var description: String { "wh_" + raw.description.dropFirst(4) }

    /// The 16 bytes, in id order.
    public var bytes: [UInt8] { raw.bytes }

    public static func < (a: WebhookID, b: WebhookID) -> Bool { a.raw < b.raw }
}

/// A webhook subscription came into being (its owner is the event's). No secret: the
/// signing secret is derived from the ledger's webhook key, the id and the version.
public struct WebhookCreated: Equatable, Sendable {
    public var id: WebhookID
    public var url: String
    /// Event wire names, or `["*"]` for every type but `key.accessed`.
    public var eventTypes: [String]
    public var description: String?

    public init(id: WebhookID, url: String, eventTypes: [String], description: String?) {
        self.id = id
        self.url = url
        self.eventTypes = eventTypes
        self.description = description
    }
}

/// Some attributes of a webhook changed; nil fields did not change.
public struct WebhookUpdated: Equatable, Sendable {
    public var id: WebhookID
    public var url: String?
    public var eventTypes: [String]?
    /// `.some(nil)`: the description was removed.
    public var description: String??
    /// `true` re-enables a disabled webhook; `false` pauses it.
    public var enabled: Bool?

    public init(
        id: WebhookID, url: String? = nil, eventTypes: [String]? = nil, description: String?? = nil,
        enabled: Bool? = nil
    ) {
        self.id = id
        self.url = url
        self.eventTypes = eventTypes
        self.description = description
        self.enabled = enabled
    }
}

extension EventPayload {
    /// The webhook a webhook event is about; nil for every other event.
    public var webhookID: WebhookID? {
        switch self {
        case .webhookCreated(let c): c.id
        case .webhookUpdated(let u): u.id
        case .webhookDeleted(let id), .webhookSecretRotated(let id, _), .webhookDisabled(let id, _): id
        default: nil
        }
    }
}

extension EventCodec {
    static func encodeNotification(_ payload: EventPayload, into w: inout BinaryWriter) {
        switch payload {
        case .webhookCreated(let c):
            w.raw(c.id.bytes)
            w.string(c.url)
            w.strings(c.eventTypes)
            w.optionalString(c.description)
        case .webhookUpdated(let u):
            var mask: UInt8 = 0
            if u.url != nil { mask |= 1 }
            if u.eventTypes != nil { mask |= 2 }
            if u.description != nil { mask |= 4 }
            if u.enabled != nil { mask |= 8 }
            w.raw(u.id.bytes)
            w.u8(mask)
            if let url = u.url { w.string(url) }
            if let types = u.eventTypes { w.strings(types) }
            if let description = u.description { w.optionalString(description) }
            if let enabled = u.enabled { w.u8(enabled ? 1 : 0) }
        case .webhookDeleted(let id):
            w.raw(id.bytes)
        case .webhookSecretRotated(let id, let version):
            w.raw(id.bytes)
            w.varint(UInt64(version))
        case .webhookDisabled(let id, let reason):
            w.raw(id.bytes)
            w.string(reason)
        case .expiring(let expiresAt, let lead):
            w.i64(expiresAt)
            w.i64(lead)
        case .leaked(let url, let source):
            w.optionalString(url)
            w.optionalString(source)
        default:
            break
        }
    }

    static func decodeNotification(_ type: EventType, _ r: inout BinaryReader) throws(EventDecodingError)
        -> EventPayload
    {
        func webhook() throws(EventDecodingError) -> WebhookID {
            guard let raw = KeyID(bytes: try r.raw(16)) else { throw r.fail("bad webhook id") }
            return WebhookID(raw: raw)
        }
        switch type {
        case .webhookCreated:
            return .webhookCreated(
                WebhookCreated(
                    id: try webhook(), url: try r.string(), eventTypes: try r.strings(),
                    description: try r.optionalString()))
        case .webhookUpdated:
            var u = WebhookUpdated(id: try webhook())
            let mask = try r.u8()
            guard mask & 0xF0 == 0 else { throw r.fail("unknown webhook update fields") }
            if mask & 1 != 0 { u.url = try r.string() }
            if mask & 2 != 0 { u.eventTypes = try r.strings() }
            if mask & 4 != 0 { u.description = .some(try r.optionalString()) }
            if mask & 8 != 0 {
                let flag = try r.u8()
                guard flag <= 1 else { throw r.fail("bad enabled flag") }
                u.enabled = flag == 1
            }
            return .webhookUpdated(u)
        case .webhookDeleted:
            return .webhookDeleted(try webhook())
        case .webhookSecretRotated:
            let id = try webhook()
            let version = try r.varint()
            guard version <= UInt64(UInt32.max) else { throw r.fail("secret version out of range") }
            return .webhookSecretRotated(id, version: UInt32(version))
        case .webhookDisabled:
            return .webhookDisabled(try webhook(), reason: try r.string())
        case .expiring:
            return .expiring(expiresAt: try r.i64(), leadSeconds: try r.i64())
        case .leaked:
            return .leaked(url: try r.optionalString(), source: try r.optionalString())
        default:
            throw r.fail("not a notification event")
        }
    }
}
