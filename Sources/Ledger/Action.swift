public import Events

/// What a principal asks to do: every management route is one of these. The ledger
/// decides each with ``Access/authorize(_:_:target:use:now:)``.
public enum Action: Sendable, Equatable {
    case createKey(KeySpec)
    case updateKey(KeyID, KeyChanges)
    case rotateKey(KeyID)
    case suspendKey(KeyID)
    case reactivateKey(KeyID)
    case revokeKey(KeyID)
    case addCredits(KeyID, amount: Int64)
    /// Loosens (or sets) a key's credits: needs `ledger:quotas`, like adding.
    case setCredits(KeyID, balance: Int64)
    /// Tightens a key's credits: `ledger:keys` suffices.
    case subtractCredits(KeyID, amount: Int64)
    /// `POST /v1/keys/self/rotate` by a key with its own secret; `allowed` is the key's
    /// `selfRotate`, which the writer supplies when it decides (the asker's value is
    /// replaced by the key's current one).
    case rotateSelf(allowed: Bool)
    /// `PUT /v1/owners/{owner}`.
    case putOwner(String, OwnerChanges)
    /// `GET /v1/owners/{owner}`, or `GET /v1/owners` (nil).
    case readOwners(String?)
    /// `PUT /v1/plans/{plan}`: the root token and the socket only.
    case putPlan(String, PlanChanges)
    /// `GET /v1/plans...`: nothing of one owner.
    case readPlans
    /// `GET /v1/keys`, optionally of one owner.
    case listKeys(owner: String?)
    /// `GET /v1/keys/{id}`.
    case readKey(KeyID)
    /// A key's logs, usage or state at a point.
    case readKeyHistory(KeyID)
    /// `GET /v1/audit`, optionally of one owner.
    case readAudit(owner: String?)
    /// `GET /v1/events`: the whole log.
    case readEvents
    /// `GET /v1/ledger/verify`.
    case checkChain
    /// `GET /metrics`.
    case readMetrics
    /// The checkpoints, the verifier key and consistency proofs: nothing of one owner.
    case readCheckpoints
    /// An inclusion proof of event `seq`; a ledger key's read is bound to its owner's events.
    case proveInclusion(seq: UInt64)
    /// `GET /v1/audit/export`, optionally of one owner.
    case exportAudit(owner: String?)
    /// `POST /v1/webhooks` for `owner` (nil: a ledger key's own owner, or every owner
    /// for an administrator).
    case createWebhook(owner: String?)
    /// `GET /v1/webhooks`, optionally of one owner.
    case listWebhooks(owner: String?)
    /// Read, change, delete, rotate the secret of, redeliver or list the deliveries of a
    /// webhook; `owner` is the webhook's (nil when there is no such webhook).
    case manageWebhook(WebhookID, owner: String?)
    /// `POST /v1/leaks`.
    case reportLeaks

    /// The key the action is about, when it is about one.
    public var target: KeyID? {
        switch self {
        case .updateKey(let id, _), .rotateKey(let id), .suspendKey(let id), .reactivateKey(let id),
            .revokeKey(let id), .addCredits(let id, _), .setCredits(let id, _), .subtractCredits(let id, _),
            .readKey(let id), .readKeyHistory(let id):
            id
        case .createKey, .listKeys, .readAudit, .readEvents, .checkChain, .readMetrics, .readCheckpoints,
            .proveInclusion, .exportAudit, .createWebhook, .listWebhooks, .manageWebhook, .reportLeaks,
            .putOwner, .readOwners, .putPlan, .readPlans, .rotateSelf:
            nil
        }
    }

    /// The scope a ledger key needs; nil when only the root token and the socket may.
    var scope: LedgerScope? {
        switch self {
        case .createKey, .updateKey, .rotateKey, .suspendKey, .reactivateKey, .revokeKey, .listKeys, .readKey,
            .subtractCredits, .readOwners, .readPlans:
            .keys
        case .putOwner: .quotas
        case .putPlan, .rotateSelf: nil
        case .addCredits, .setCredits: .quotas
        case .readKeyHistory, .readAudit, .readCheckpoints, .proveInclusion, .exportAudit: .audit
        case .readMetrics: .metrics
        case .createWebhook, .listWebhooks, .manageWebhook: .webhooks
        case .readEvents, .checkChain, .reportLeaks: nil
        }
    }

    /// True when the action gives its target something the caller could use or hand
    /// on (a secret, a new life, attributes, credits): the target may then hold no
    /// `ledger:` scope the caller lacks. Suspending and revoking only take away.
    var lends: Bool {
        switch self {
        case .createKey, .updateKey, .rotateKey, .reactivateKey, .addCredits, .setCredits, .rotateSelf: true
        case .suspendKey, .revokeKey, .subtractCredits, .putOwner, .readOwners, .putPlan, .readPlans, .listKeys, .readKey,
            .readKeyHistory, .readAudit, .readEvents, .checkChain, .readMetrics, .readCheckpoints, .proveInclusion,
            .exportAudit, .createWebhook, .listWebhooks, .manageWebhook, .reportLeaks:
            false
        }
    }

    /// False for `/metrics` scrapes, which API.md exempts from the audit trail: a
    /// scraper every few seconds would bury every other record.
    public var isRecorded: Bool { self != .readMetrics }

    /// For messages: what the action does.
    var summary: String {
        switch self {
        case .readEvents: "read the whole log"
        case .checkChain: "check the chain"
        case .readMetrics: "read metrics"
        case .putPlan: "change plans"
        case .reportLeaks: "report leaked keys without a signature"
        default: "act"
        }
    }
}

extension Command {
    /// The HTTP status a ledger key's recorded use carries when the command succeeds;
    /// nil when its success records nothing yet (a read's authorization: the read's
    /// answer is recorded after it).
    var statusWhenGranted: UInt16? {
        switch self {
        case .create: 201
        case .update, .rotate, .suspend, .reactivate, .revoke, .addCredits, .setCredits, .subtractCredits, .rotateSelf,
            .putOwner, .putPlan:
            200
        case .recordUse(_, let status): status
        case .webhook(.create): 201
        case .webhook: 200
        case .authorize, .expireDue, .verify, .audit, .warnExpiring, .reportLeaks: nil
        }
    }

    /// The action a management command asks for; nil for the ledger's own work
    /// (verification, the expiry sweep), which no principal authorizes.
    var action: Action? {
        switch self {
        case .create(let spec, _, _): .createKey(spec)
        case .update(let id, let changes, _): .updateKey(id, changes)
        case .rotate(let id, _, _): .rotateKey(id)
        case .suspend(let id, _): .suspendKey(id)
        case .reactivate(let id): .reactivateKey(id)
        case .revoke(let id, _): .revokeKey(id)
        case .addCredits(let id, let amount): .addCredits(id, amount: amount)
        case .setCredits(let id, let balance): .setCredits(id, balance: balance)
        case .subtractCredits(let id, let amount): .subtractCredits(id, amount: amount)
        case .authorize(let action), .recordUse(let action, _): action
        case .putOwner(let name, let changes): .putOwner(name, changes)
        case .putPlan(let name, let changes): .putPlan(name, changes)
        // Decided in its own step (`CommandExecutor.rotateSelf`), with the key's current
        // `selfRotate`; named here so that its refusal is recorded as any other.
        case .rotateSelf: .rotateSelf(allowed: false)
        case .expireDue, .verify, .audit, .webhook, .warnExpiring, .reportLeaks: nil
        }
    }
}
