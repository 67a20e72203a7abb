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

    /// The key the action is about, when it is about one.
    public var target: KeyID? {
        switch self {
        case .updateKey(let id, _), .rotateKey(let id), .suspendKey(let id), .reactivateKey(let id),
            .revokeKey(let id), .addCredits(let id, _), .readKey(let id), .readKeyHistory(let id):
            id
        case .createKey, .listKeys, .readAudit, .readEvents, .checkChain, .readMetrics, .readCheckpoints,
            .proveInclusion, .exportAudit:
            nil
        }
    }

    /// The scope a ledger key needs; nil when only the root token and the socket may.
    var scope: LedgerScope? {
        switch self {
        case .createKey, .updateKey, .rotateKey, .suspendKey, .reactivateKey, .revokeKey, .listKeys, .readKey:
            .keys
        case .addCredits: .quotas
        case .readKeyHistory, .readAudit, .readCheckpoints, .proveInclusion, .exportAudit: .audit
        case .readMetrics: .metrics
        case .readEvents, .checkChain: nil
        }
    }

    /// True when the action gives its target something the caller could use or hand
    /// on (a secret, a new life, attributes, credits): the target may then hold no
    /// `ledger:` scope the caller lacks. Suspending and revoking only take away.
    var lends: Bool {
        switch self {
        case .createKey, .updateKey, .rotateKey, .reactivateKey, .addCredits: true
        case .suspendKey, .revokeKey, .listKeys, .readKey, .readKeyHistory, .readAudit, .readEvents, .checkChain,
            .readMetrics, .readCheckpoints, .proveInclusion, .exportAudit:
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
        case .update, .rotate, .suspend, .reactivate, .revoke, .addCredits: 200
        case .recordUse(_, let status): status
        case .authorize, .expireDue, .verify, .audit: nil
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
        case .authorize(let action), .recordUse(let action, _): action
        case .expireDue, .verify, .audit: nil
        }
    }
}
