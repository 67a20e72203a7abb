public import Events
public import Projections

/// The one decision of a principal's right to an action (STYLE.md, convention 15),
/// pure: who asks, what, about which key, at what time in; a grant or the refusal out.
/// The writer supplies the state and records the grant's events atomically with the
/// command; reads happen after it, bounded by ``Grant/owner``.
public enum Access {
    /// The principal once the ledger has looked its credential up.
    public enum Caller: Sendable, Equatable {
        /// The root token or the Unix socket: may do everything.
        case administrator(Actor)
        /// A ledger key, with how the presented secret matched it.
        case key(KeyState, KeyState.SecretMatch)
        /// A secret scanner whose report's signature was verified against the configured
        /// key `keyIdentifier`: may report leaks and nothing else.
        case leakReporter(keyIdentifier: String)
    }

    /// What to record about a ledger key's use.
    public struct Use: Sendable, Equatable {
        public var ip: IPAddress?
        /// Method and route template, e.g. `PATCH /v1/keys/{id}`.
        public var endpoint: String
        public var latencyMicros: UInt32
        /// The HTTP status the request is answered.
        public var status: UInt16?

        public init(ip: IPAddress?, endpoint: String, latencyMicros: UInt32 = 0, status: UInt16? = nil) {
            self.ip = ip
            self.endpoint = endpoint
            self.latencyMicros = latencyMicros
            self.status = status
        }
    }

    /// Decides whether `caller` may do `action` at `now`.
    ///
    /// For a ledger key, in order: the credential itself (``CredentialCheck``: status,
    /// address, the action's scope, rate limits, credits), then the target (it exists,
    /// belongs to the key's owner, holds no `ledger:` scope the key lacks when the
    /// action lends it something), then the grant (no `ledger:` scope the key lacks is
    /// handed out; loosening a quota needs `ledger:quotas`).
    ///
    /// - Parameters:
    ///   - target: the state of ``Action/target`` (nil when the action has none or no
    ///     such key exists); administrators' actions do not look at it.
    /// - Returns: the grant: the actor for the command's events, the owner a read is
    ///   bound to, and the events recording the key's use.
    /// - Throws: the refusal as ``LedgerError`` (401, 403, 404 or 429).
    public static func authorize(_ caller: Caller, _ action: Action, target: KeyState?, use: Use, now: Int64)
        throws(LedgerError) -> Grant
    {
        let credential: KeyState
        let match: KeyState.SecretMatch
        switch caller {
        case .administrator(let actor): return Grant(actor: actor, owner: nil, events: [])
        case .key(let key, let how): (credential, match) = (key, how)
        case .leakReporter(let identifier):
            guard action == .reportLeaks else { throw .forbidden("a leak report's signature grants nothing else") }
            return Grant(actor: Actor(kind: .system, id: "leak-reporter:\(identifier.prefix(80))"), owner: nil, events: [])
        }
        if case .rotateSelf(let allowed) = action {
            return try selfRotation(credential, match, allowed: allowed, use: use, now: now)
        }
        let scope = action.scope
        if let refusal = CredentialCheck.check(credential, match: match, scope: scope?.rawValue, ip: use.ip, now: now) {
            throw refusal.error
        }
        guard let scope else { throw .forbidden("only the root token or the Unix socket may \(action.summary)") }
        let owner = credential.owner
        func handOn(_ scopes: [String]) throws(LedgerError) {
            for s in scopes where LedgerScope.isLedgerScope(s) && !credential.scopes.contains(s) {
                throw .forbidden("a ledger key cannot grant the scope \(s), which it does not hold")
            }
        }
        switch action {
        case .createKey(let spec):
            guard spec.owner == owner else {
                throw .forbidden("this credential may only create keys for owner \(owner)")
            }
            try handOn(spec.scopes)
        case .listKeys(let asked):
            if let asked, asked != owner { throw .forbidden("this credential may only list keys of owner \(owner)") }
        case .putOwner(let name, let changes):
            guard name == owner else { throw .forbidden("this credential may only change owner \(owner)") }
            let adminOnly = OwnerRules.administratorFields(changes)
            guard adminOnly.isEmpty else {
                throw .forbidden(
                    "only the root token or the Unix socket may change an owner's \(adminOnly.joined(separator: ", "))")
            }
        case .readOwners(let asked):
            if let asked, asked != owner { throw .forbidden("this credential may only read owner \(owner)") }
        case .readAudit(let asked), .exportAudit(let asked):
            if let asked, asked != owner {
                throw .forbidden("this credential may only read the audit log of owner \(owner)")
            }
        case .createWebhook(let asked), .listWebhooks(let asked):
            if let asked, asked != owner {
                throw .forbidden("this credential may only manage webhooks of owner \(owner)")
            }
        case .manageWebhook(let id, let hookOwner):
            guard let hookOwner else { throw .notFound("no webhook \(id)") }
            guard hookOwner == owner else { throw .forbidden("webhook \(id) belongs to another owner") }
        default:
            guard let id = action.target else { break }
            guard let target else { throw .notFound("no key \(id)") }
            guard target.owner == owner else { throw .forbidden("key \(id) belongs to another owner") }
            guard action.lends else { break }
            for s in target.scopes where LedgerScope.isLedgerScope(s) && !credential.scopes.contains(s) {
                throw .forbidden("key \(id) holds the scope \(s), which this credential does not hold")
            }
            if case .updateKey(_, let changes) = action { try handOn(changes.scopes ?? []) }
            let loosened = QuotaChange.loosened(by: action, of: target)
            if !loosened.isEmpty, !credential.scopes.contains(LedgerScope.quotas.rawValue) {
                throw .forbidden(
                    "loosening \(loosened.joined(separator: ", ")) needs the scope \(LedgerScope.quotas.rawValue)")
            }
        }
        guard action.isRecorded else {
            return Grant(actor: Actor(kind: .key, id: credential.id.description), owner: owner, events: [])
        }
        let accessed = KeyAccessed(
            code: .valid, scope: scope.rawValue, endpoint: use.endpoint, latencyMicros: use.latencyMicros,
            status: use.status)
        return Grant(
            actor: Actor(kind: .key, id: credential.id.description), owner: owner, events: [.accessed(accessed)])
    }
}

extension Access {
    /// A key rotating itself: a usable credential (no scope needed) whose `selfRotate`
    /// is set. Its recorded use spends no credit.
    static func selfRotation(
        _ credential: KeyState, _ match: KeyState.SecretMatch, allowed: Bool, use: Use, now: Int64
    ) throws(LedgerError) -> Grant {
        // A key out of credits may still rotate itself: the rotation spends none.
        if let refusal = CredentialCheck.check(credential, match: match, scope: nil, ip: use.ip, now: now),
            refusal != .outOfCredits
        {
            throw refusal.error
        }
        guard allowed else {
            throw .forbidden("key \(credential.id) may not rotate itself: it was not given selfRotate")
        }
        let accessed = KeyAccessed(
            code: .valid, endpoint: use.endpoint, latencyMicros: use.latencyMicros, cost: 0, status: use.status)
        return Grant(
            actor: Actor(kind: .key, id: credential.id.description), owner: credential.owner,
            events: [.accessed(accessed)])
    }
}

/// A principal's right to one action, as ``Access/authorize(_:_:target:use:now:)``
/// decided it.
public struct Grant: Sendable, Equatable {
    /// The actor the action's events carry.
    public var actor: Actor
    /// The only owner the principal may touch or read; nil for administrators.
    public var owner: String?
    /// The events recording a ledger key's use (`key.accessed`), appended to that key
    /// before the action's own.
    public var events: [EventPayload]
}
