/// The kinds of event on a key. Raw values are the binary codec's type byte and the
/// wire names are the API's; neither ever changes (a new shape is a new type).
public enum EventType: UInt8, CaseIterable, Sendable {
    case created = 1
    case updated = 2
    case rotated = 3
    case suspended = 4
    case reactivated = 5
    case revoked = 6
    case expired = 7
    case creditsAdded = 8
    case accessed = 9

    // Codes 10-19: ledger-wide audit records (ledger.request, auth.failed).
    /// A root or socket request that appended nothing else (a read, a refused write).
    case request = 10
    /// A failed authentication (401).
    case authFailed = 11

    // Codes 20-39: owners, plans, credits, imports and purges.
    case creditsSet = 20
    case creditsSubtracted = 21
    case ownerUpdated = 22
    case planUpdated = 23
    case configured = 24
    case creditsRefilled = 25
    case ownerCreditsRefilled = 26
    case purged = 27

    // Codes 40-59: webhooks, expiry warnings and leak reports.
    case webhookCreated = 40
    case webhookUpdated = 41
    case webhookDeleted = 42
    case webhookSecretRotated = 43
    case webhookDisabled = 44
    case expiring = 45
    case leaked = 46

    /// The stable wire name, e.g. `key.rotated`.
    public var wireName: String {
        switch self {
        case .created: "key.created"
        case .updated: "key.updated"
        case .rotated: "key.rotated"
        case .suspended: "key.suspended"
        case .reactivated: "key.reactivated"
        case .revoked: "key.revoked"
        case .expired: "key.expired"
        case .creditsAdded: "key.credits_added"
        case .accessed: "key.accessed"
        case .request: "ledger.request"
        case .authFailed: "auth.failed"
        case .webhookCreated: "webhook.created"
        case .webhookUpdated: "webhook.updated"
        case .webhookDeleted: "webhook.deleted"
        case .webhookSecretRotated: "webhook.secret_rotated"
        case .webhookDisabled: "webhook.disabled"
        case .expiring: "key.expiring"
        case .leaked: "key.leaked"
        case .creditsSet: "key.credits_set"
        case .creditsSubtracted: "key.credits_subtracted"
        case .ownerUpdated: "owner.updated"
        case .planUpdated: "plan.updated"
        case .configured: "key.configured"
        case .creditsRefilled: "key.credits_refilled"
        case .ownerCreditsRefilled: "owner.credits_refilled"
        case .purged: "key.purged"
        }
    }

    /// The type with this wire name, or nil.
    public init?(wireName: some StringProtocol) {
        guard let match = Self.allCases.first(where: { $0.wireName == wireName }) else { return nil }
        self = match
    }
}

/// Who caused an event.
public struct Actor: Hashable, Sendable {
    public enum Kind: UInt8, Sendable, CaseIterable {
        /// The root token.
        case root = 1
        /// A ledger key with a management or audit scope; `id` is its key id.
        case key = 2
        /// A local administrator over the Unix socket; `id` names the peer uid.
        case socket = 3
        /// KeyLedger itself (the expiry sweeper); `id` names the component.
        case system = 4

        public var wireName: String {
            switch self {
            case .root: "root"
            case .key: "key"
            case .socket: "socket"
            case .system: "system"
            }
        }
    }

    public var kind: Kind
    public var id: String

    public init(kind: Kind, id: String) {
        self.kind = kind
        self.id = id
    }

    /// The expiry sweeper.
    public static let sweeper = Actor(kind: .system, id: "expiry-sweeper")

    /// The webhook deliverer (it disables webhooks failing for too long).
    public static let deliverer = Actor(kind: .system, id: "webhook-deliverer")

    /// The actor an id denotes, as events show ids: `root`, `uid:N` (the socket), a key
    /// id, or else a system component's name.
    public init(id: String) {
        if id == "root" {
            self.init(kind: .root, id: id)
        } else if id.hasPrefix("uid:") {
            self.init(kind: .socket, id: id)
        } else if KeyID(id) != nil {
            self.init(kind: .key, id: id)
        } else {
            self.init(kind: .system, id: id)
        }
    }
}

/// The outcome of one verification, as recorded in `key.accessed` and answered to the
/// gateway. Raw values are the codec's; wire names are the API's.
public enum VerifyCode: UInt8, CaseIterable, Sendable {
    case valid = 0
    case notFound = 1
    case expired = 2
    case revoked = 3
    case suspended = 4
    case insufficientScope = 5
    case ipNotAllowed = 6
    case rateLimited = 7
    case usageExceeded = 8

    public var wireName: String {
        switch self {
        case .valid: "VALID"
        case .notFound: "NOT_FOUND"
        case .expired: "EXPIRED"
        case .revoked: "REVOKED"
        case .suspended: "SUSPENDED"
        case .insufficientScope: "INSUFFICIENT_SCOPE"
        case .ipNotAllowed: "IP_NOT_ALLOWED"
        case .rateLimited: "RATE_LIMITED"
        case .usageExceeded: "USAGE_EXCEEDED"
        }
    }

    public init?(wireName: some StringProtocol) {
        guard let match = Self.allCases.first(where: { $0.wireName == wireName }) else { return nil }
        self = match
    }
}

/// One rate limit of a key, owner or plan: at most `limit` granted requests in any
/// `windowSeconds`. `name` is unique within its holder; a limit keeps its window across
/// changes while its name and window length stay the same.
public struct RateLimit: Hashable, Sendable {
    public var name: String?
    public var limit: UInt64
    public var windowSeconds: UInt32

    public init(name: String? = nil, limit: UInt64, windowSeconds: UInt32) {
        self.name = name
        self.limit = limit
        self.windowSeconds = windowSeconds
    }
}
