public import Events

/// What a new webhook subscription should be.
public struct WebhookSpec: Sendable, Equatable {
    /// The owner whose events it receives: a ledger key's own (the default for one);
    /// nil from an administrator subscribes to every owner's events.
    public var owner: String?
    public var url: String
    public var eventTypes: [String]
    public var description: String?

    public init(owner: String?, url: String, eventTypes: [String], description: String? = nil) {
        self.owner = owner
        self.url = url
        self.eventTypes = eventTypes
        self.description = description
    }
}

/// Changes to a webhook; nil fields stay as they are.
public struct WebhookChanges: Sendable, Equatable {
    public var url: String?
    public var eventTypes: [String]?
    /// `.some(nil)` removes the description.
    public var description: String??
    /// `true` re-enables a disabled or paused webhook; `false` pauses it.
    public var enabled: Bool?

    public init() {}
}

/// The commands on webhook subscriptions (``Command/webhook(_:)``).
public enum WebhookCommand: Sendable, Equatable {
    case create(WebhookSpec, id: WebhookID)
    case update(WebhookID, WebhookChanges)
    case delete(WebhookID)
    /// Moves the signing secret to its next version (the old one stops at once).
    case rotateSecret(WebhookID)
    /// The deliverer's own: the webhook has failed for too long.
    case disable(WebhookID, reason: String)
}

/// One token of a leak report (GitHub's secret scanning partner format).
public struct LeakReport: Sendable, Equatable {
    public var token: String
    public var type: String
    public var url: String?
    public var source: String?

    public init(token: String, type: String, url: String?, source: String?) {
        self.token = token
        self.type = type
        self.url = url
        self.source = source
    }
}

/// Rules of webhook attributes (the decisions' input checks).
public enum WebhookRules {
    public static let maxURLLength = 2048
    public static let maxDescriptionLength = 256
    public static let maxEventTypes = 64
    /// Webhooks one owner (or the every-owner subscriptions together) may have: each costs
    /// the deliverer a look per pass.
    public static let maxPerOwner = 100

    /// Checks a subscription's URL: `https://` (or `http://`) with a host; whether the
    /// destination may be reached is the deliverer's to decide, by address.
    public static func url(_ url: String) throws(LedgerError) {
        guard url.utf8.count <= maxURLLength else {
            throw .invalid(field: "url", reason: "must be at most \(maxURLLength) bytes")
        }
        let lower = url.lowercased()
        let rest: Substring
        if lower.hasPrefix("https://") {
            rest = lower.dropFirst(8)
        } else if lower.hasPrefix("http://") {
            rest = lower.dropFirst(7)
        } else {
            throw .invalid(field: "url", reason: "must be an https:// URL")
        }
        let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !host.isEmpty, !host.contains("@"), url.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw .invalid(field: "url", reason: "must name a host, with no credentials, spaces or control characters")
        }
    }

    /// Checks an event-type filter: known wire names, or `*` alone.
    public static func eventTypes(_ types: [String]) throws(LedgerError) {
        guard !types.isEmpty, types.count <= maxEventTypes else {
            throw .invalid(field: "eventTypes", reason: "must list 1 to \(maxEventTypes) event types, or [\"*\"]")
        }
        if types == ["*"] { return }
        for type in types where EventType(wireName: type) == nil {
            throw .invalid(field: "eventTypes", reason: "\(type) is not an event type (or use [\"*\"] alone)")
        }
        guard Set(types).count == types.count else {
            throw .invalid(field: "eventTypes", reason: "lists a type twice")
        }
    }

    public static func description(_ text: String?) throws(LedgerError) {
        guard let text else { return }
        guard text.utf8.count <= maxDescriptionLength else {
            throw .invalid(field: "description", reason: "must be at most \(maxDescriptionLength) bytes")
        }
    }
}
