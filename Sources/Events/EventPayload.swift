/// A key came into being. Carries every attribute and the digest of its first secret.
public struct KeyCreated: Equatable, Sendable {
    public var name: String
    public var prefix: String
    public var environment: String
    public var scopes: [String]
    public var accounts: [String]
    public var ipAllowlist: [CIDR]
    /// µs since the epoch; nil: never expires.
    public var expiresAt: Int64?
    public var rateLimits: [RateLimit]
    /// nil: unlimited.
    public var credits: Int64?
    public var metadata: [String: String]
    public var secretDigest: Digest

    public init(
        name: String, prefix: String, environment: String, scopes: [String], accounts: [String],
        ipAllowlist: [CIDR], expiresAt: Int64?, rateLimits: [RateLimit], credits: Int64?,
        metadata: [String: String], secretDigest: Digest
    ) {
        self.name = name
        self.prefix = prefix
        self.environment = environment
        self.scopes = scopes
        self.accounts = accounts
        self.ipAllowlist = ipAllowlist
        self.expiresAt = expiresAt
        self.rateLimits = rateLimits
        self.credits = credits
        self.metadata = metadata
        self.secretDigest = secretDigest
    }
}

/// Some attributes of a key changed; nil fields did not change.
public struct KeyUpdated: Equatable, Sendable {
    public var name: String?
    public var scopes: [String]?
    public var accounts: [String]?
    public var ipAllowlist: [CIDR]?
    /// `.some(nil)`: the expiry was removed.
    public var expiresAt: Int64??
    public var rateLimits: [RateLimit]?
    /// The whole map after the change.
    public var metadata: [String: String]?

    public init(
        name: String? = nil, scopes: [String]? = nil, accounts: [String]? = nil,
        ipAllowlist: [CIDR]? = nil, expiresAt: Int64?? = nil, rateLimits: [RateLimit]? = nil,
        metadata: [String: String]? = nil
    ) {
        self.name = name
        self.scopes = scopes
        self.accounts = accounts
        self.ipAllowlist = ipAllowlist
        self.expiresAt = expiresAt
        self.rateLimits = rateLimits
        self.metadata = metadata
    }

    /// True when nothing changed.
    public var isEmpty: Bool {
        name == nil && scopes == nil && accounts == nil && ipAllowlist == nil && expiresAt == nil
            && rateLimits == nil && metadata == nil
    }
}

/// A key got a new secret; the previous one keeps working until `previousSecretExpiresAt`.
public struct KeyRotated: Equatable, Sendable {
    public var secretDigest: Digest
    public var gracePeriodSeconds: UInt32
    public var previousSecretExpiresAt: Int64

    public init(secretDigest: Digest, gracePeriodSeconds: UInt32, previousSecretExpiresAt: Int64) {
        self.secretDigest = secretDigest
        self.gracePeriodSeconds = gracePeriodSeconds
        self.previousSecretExpiresAt = previousSecretExpiresAt
    }
}

/// A key was presented for verification (or used as a management credential).
public struct KeyAccessed: Equatable, Sendable {
    public var code: VerifyCode
    public var scope: String?
    public var account: String?
    public var endpoint: String?
    /// From the request's arrival to the decision, in µs.
    public var latencyMicros: UInt32
    /// Credits the request asked to spend (spent only when granted).
    public var cost: UInt32
    /// The HTTP status answered, when the key was used as a management credential
    /// (100...599); nil for a verification.
    public var status: UInt16?

    public init(
        code: VerifyCode, scope: String? = nil, account: String? = nil, endpoint: String? = nil,
        latencyMicros: UInt32 = 0, cost: UInt32 = 1, status: UInt16? = nil
    ) {
        self.code = code
        self.scope = scope
        self.account = account
        self.endpoint = endpoint
        self.latencyMicros = latencyMicros
        self.cost = cost
        self.status = status
    }
}

/// What happened, with the facts of that kind of event.
public enum EventPayload: Equatable, Sendable {
    case created(KeyCreated)
    case updated(KeyUpdated)
    case rotated(KeyRotated)
    case suspended(reason: String?)
    case reactivated
    case revoked(reason: String?)
    case expired
    case creditsAdded(add: Int64, balance: Int64)
    case accessed(KeyAccessed)
    case request(LedgerRequest)
    case authFailed(AuthFailed)
    /// The key's credits were set to `balance` (`POST /v1/keys/{id}/credits` with `set`).
    case creditsSet(balance: Int64)
    /// `subtract` credits were taken off the key, leaving `balance`.
    case creditsSubtracted(subtract: Int64, balance: Int64)
    /// An owner record was created or changed (the event's owner; no key).
    case ownerUpdated(OwnerSettings)
    /// A plan was created or changed (no key, no owner).
    case planUpdated(PlanSettings)
    /// A key's plan, refill, self-rotation or purge delay was set.
    case configured(KeyQuotaSettings)
    /// The sweeper set a key's credits to its refill amount at a boundary.
    case creditsRefilled(balance: Int64)
    /// The sweeper set an owner's credits to its refill amount at a boundary (no key).
    case ownerCreditsRefilled(balance: Int64)
    /// The sweeper purged a key expired or revoked long enough: it leaves lists and
    /// reads; its history stays in the log.
    case purged
    case webhookCreated(WebhookCreated)
    case webhookUpdated(WebhookUpdated)
    case webhookDeleted(WebhookID)
    /// The webhook's signing secret moved to `version` (the secret itself is derived,
    /// never stored: see ``WebhookID``).
    case webhookSecretRotated(WebhookID, version: UInt32)
    case webhookDisabled(WebhookID, reason: String)
    /// A key's expiry is `leadSeconds` or less away (the sweeper's warning).
    case expiring(expiresAt: Int64, leadSeconds: Int64)
    /// A leak report named one of the key's secrets.
    case leaked(url: String?, source: String?)

    public var type: EventType {
        switch self {
        case .created: .created
        case .updated: .updated
        case .rotated: .rotated
        case .suspended: .suspended
        case .reactivated: .reactivated
        case .revoked: .revoked
        case .expired: .expired
        case .creditsAdded: .creditsAdded
        case .accessed: .accessed
        case .request: .request
        case .authFailed: .authFailed
        case .creditsSet: .creditsSet
        case .creditsSubtracted: .creditsSubtracted
        case .ownerUpdated: .ownerUpdated
        case .planUpdated: .planUpdated
        case .configured: .configured
        case .creditsRefilled: .creditsRefilled
        case .ownerCreditsRefilled: .ownerCreditsRefilled
        case .purged: .purged
        case .webhookCreated: .webhookCreated
        case .webhookUpdated: .webhookUpdated
        case .webhookDeleted: .webhookDeleted
        case .webhookSecretRotated: .webhookSecretRotated
        case .webhookDisabled: .webhookDisabled
        case .expiring: .expiring
        case .leaked: .leaked
        }
    }
}

/// One fact in the log.
public struct Event: Equatable, Sendable {
    /// Position in the log, from 1; 0 until appended.
    public var seq: UInt64
    /// µs since the epoch, from the writer's clock.
    public var time: Int64
    public var keyID: KeyID
    public var owner: String
    public var actor: Actor
    /// The client address of the request that caused it, when there was one.
    public var ip: IPAddress?
    public var requestID: String?
    public var payload: EventPayload

    public var type: EventType { payload.type }

    public init(
        seq: UInt64 = 0, time: Int64, keyID: KeyID, owner: String, actor: Actor,
        ip: IPAddress? = nil, requestID: String? = nil, payload: EventPayload
    ) {
        self.seq = seq
        self.time = time
        self.keyID = keyID
        self.owner = owner
        self.actor = actor
        self.ip = ip
        self.requestID = requestID
        self.payload = payload
    }
}
