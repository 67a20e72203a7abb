public import Events
public import Projections

/// What a new key should be. Times are µs since the epoch.
public struct KeySpec: Sendable, Equatable {
    public var owner: String
    public var name: String
    public var prefix: String?
    public var environment: String?
    public var scopes: [String] = []
    public var accounts: [String] = []
    public var ipAllowlist: [CIDR] = []
    public var expiresAt: Int64?
    public var ttlSeconds: Int64?
    public var rateLimits: [RateLimit] = []
    public var credits: Int64?
    public var metadata: [String: String] = [:]
    /// The plan, refill, self-rotation and purge delay (`key.configured`).
    public var quota = KeyQuotaSettings()

    public init(owner: String, name: String) {
        self.owner = owner
        self.name = name
    }
}

/// Changes to a key's attributes; nil fields stay as they are.
public struct KeyChanges: Sendable, Equatable {
    public var name: String?
    public var scopes: [String]?
    public var accounts: [String]?
    public var ipAllowlist: [CIDR]?
    /// `.some(nil)` removes the expiry.
    public var expiresAt: Int64??
    public var rateLimits: [RateLimit]?
    /// Merged into the current metadata; a nil value removes that entry.
    public var metadata: [String: String?]?
    /// `.some(nil)` removes the plan (or refill, or purge delay).
    public var plan: String??
    public var refill: Refill??
    public var selfRotate: Bool?
    public var purgeAfterSeconds: Int64??

    public init() {}
}

/// A gateway's question about a secret (the secret itself travels separately and
/// only its digest reaches the writer).
public struct VerifyRequest: Sendable, Equatable {
    public var scope: String?
    /// Scopes the key must all hold (besides ``scope``).
    public var scopes: [String] = []
    /// The environment the key must be of; a key of another one is NOT_FOUND.
    public var environment: String?
    public var account: String?
    public var ip: IPAddress?
    public var endpoint: String?
    /// Credits to spend when granted (0 checks without spending).
    public var cost: UInt32 = 1

    public init(
        scope: String? = nil, scopes: [String] = [], environment: String? = nil, account: String? = nil,
        ip: IPAddress? = nil, endpoint: String? = nil, cost: UInt32 = 1
    ) {
        self.scope = scope
        self.scopes = scopes
        self.environment = environment
        self.account = account
        self.ip = ip
        self.endpoint = endpoint
        self.cost = cost
    }
}

/// A ledger key presented as a management credential: its secret digest and the
/// endpoint its recorded use names. The scope an action needs is the ledger's to say
/// (``Access``), not the caller's.
public struct ManagementCredential: Sendable, Equatable {
    public var digest: Digest
    /// Method and route template, e.g. `GET /v1/keys/{id}`.
    public var endpoint: String

    public init(digest: Digest, endpoint: String) {
        self.digest = digest
        self.endpoint = endpoint
    }
}

/// Who asks, from where, under which request id.
public struct CommandContext: Sendable, Equatable {
    public var actor: Actor
    public var ip: IPAddress?
    public var requestID: String?
    /// Set when a ledger key acts: authorized (``Access``) and recorded as
    /// `key.accessed` atomically with the command.
    public var credential: ManagementCredential?
    /// Monotonic nanoseconds when the request arrived (for recorded latency).
    public var receivedAtNanos: UInt64
    /// The request's method and route template (`POST /v1/keys/{id}/rotate`), which a
    /// refused request's audit record names; nil for the ledger's own work.
    public var endpoint: String?
    /// Set when the request carried an `Idempotency-Key`: the command's answer is kept
    /// in the commit of its events.
    public var idempotency: IdempotencyClaim?

    public init(
        actor: Actor, ip: IPAddress? = nil, requestID: String? = nil,
        credential: ManagementCredential? = nil, receivedAtNanos: UInt64 = 0, endpoint: String? = nil
    ) {
        self.actor = actor
        self.ip = ip
        self.requestID = requestID
        self.credential = credential
        self.receivedAtNanos = receivedAtNanos
        self.endpoint = endpoint ?? credential?.endpoint
    }
}

/// One unit of work for the writer. Secrets are minted before a command is made, so
/// a command carries only the digest.
public enum Command: Sendable, Equatable {
    case create(KeySpec, id: KeyID, secretDigest: Digest)
    case update(KeyID, KeyChanges, expectedVersion: UInt64?)
    case rotate(KeyID, gracePeriodSeconds: Int64, secretDigest: Digest)
    case suspend(KeyID, reason: String?)
    case reactivate(KeyID)
    case revoke(KeyID, reason: String?)
    case addCredits(KeyID, amount: Int64)
    /// Sets a key's credits to `balance` (a limited key, or an unlimited one made limited).
    case setCredits(KeyID, balance: Int64)
    case subtractCredits(KeyID, amount: Int64)
    /// Rotates the secret of the key the context's credential opens (`selfRotate` keys only).
    case rotateSelf(gracePeriodSeconds: Int64, secretDigest: Digest)
    /// Creates or changes an owner record; fields left nil keep their value.
    case putOwner(String, OwnerChanges)
    /// Creates or changes a plan; fields left nil keep their value.
    case putPlan(String, PlanChanges)
    /// Marks every key whose expiry has passed as expired (the sweeper's command).
    case expireDue
    case verify(VerifyRequest, secretDigest: Digest)
    /// Decides the context's right to a read (``Access``); the read itself happens
    /// after, bounded by the grant, and is recorded by ``recordUse(_:status:)``. A
    /// refusal is recorded at once.
    case authorize(Action)
    /// A ledger key's read was answered `status`: decides its right again, over the
    /// current state, atomically with recording the use (`key.accessed` with the status).
    case recordUse(Action, status: UInt16)
    /// Appends ledger-wide audit records (``AuditTrail``'s): root and socket reads,
    /// failed authentications.
    case audit([AuditRecord])
    /// A webhook subscription command (CommandExecutor+Webhooks.swift).
    case webhook(WebhookCommand)
    /// Appends `key.expiring` for every key a warning is due for, `leadSeconds` being
    /// the lead times (the sweeper's command).
    case warnExpiring(leadSeconds: [Int64])
    /// Records each true positive of a leak report (`key.leaked`) and applies the
    /// owner's policy, `policy` being the server's default.
    case reportLeaks([LeakReport], policy: LeakPolicy)
}

/// What a command produced, answered once its batch is durable.
public enum Outcome: Sendable, Equatable {
    case key(KeyState)
    case verified(VerifyResult)
    case expired(count: Int)
    /// Ledger-wide audit records appended.
    case recorded(count: Int)
    case granted(Grant)
    case owner(OwnerState)
    case plan(PlanState)
    case webhook(Webhook)
    case warned(count: Int)
    /// Per report, in order: true for a true positive.
    case leaks([Bool])
}

/// The answer to a verification (API.md, "Verification").
public struct VerifyResult: Sendable, Equatable {
    public var code: VerifyCode
    /// What the gateway should answer its own caller.
    public var status: Int
    /// The key after the decision; nil for NOT_FOUND of an unknown secret.
    public var key: KeyState?
    /// The limit closest to exhaustion after the decision.
    public var rateLimit: RateLimitStatus?
    /// Every effective limit after the decision: the key's, then its owner's.
    public var rateLimits: [RateLimitStatus] = []
    public var retryAfterSeconds: Int?
    /// The key's plan, else its owner's.
    public var plan: String?
    /// The owner's credits after the decision, when the owner has a balance.
    public var ownerCredits: Int64?

    public var isValid: Bool { code == .valid }
}

