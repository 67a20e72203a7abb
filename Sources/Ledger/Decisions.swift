public import Events
public import Projections

/// The pure core: each function checks a command against the key's current state and
/// the time, and returns the events it causes or throws why it may not happen. No
/// storage, no clock, no randomness here. A key's status is always its status at `now`
/// (``KeyState/status(at:)``): a passed expiry is final at once, recorded or not.
public enum Decisions {
    /// `key.created` for a new key.
    public static func create(_ spec: KeySpec, secretDigest: Digest, now: Int64) throws(LedgerError) -> EventPayload {
        try KeyRules.owner(spec.owner)
        try KeyRules.name(spec.name)
        let environment = spec.environment ?? "live"
        try KeyRules.environment(environment)
        let prefix = spec.prefix ?? "sk_\(environment)_"
        try KeyRules.prefix(prefix)
        let scopes = try KeyRules.scopes(spec.scopes)
        let accounts = try KeyRules.tokens(spec.accounts, field: "accounts", max: KeyRules.maxAccounts)
        let allowlist = try KeyRules.allowlist(spec.ipAllowlist)
        try KeyRules.rateLimits(spec.rateLimits)
        try KeyRules.credits(spec.credits)
        try KeyRules.metadata(spec.metadata)
        try KeyRules.metadataSize(spec.metadata)
        let expiresAt = try expiry(spec.expiresAt, ttl: spec.ttlSeconds, now: now)
        return .created(
            KeyCreated(
                name: spec.name, prefix: prefix, environment: environment, scopes: scopes, accounts: accounts,
                ipAllowlist: allowlist, expiresAt: expiresAt, rateLimits: spec.rateLimits,
                credits: spec.credits, metadata: spec.metadata, secretDigest: secretDigest))
    }

    static func expiry(_ at: Int64?, ttl: Int64?, now: Int64) throws(LedgerError) -> Int64? {
        switch (at, ttl) {
        case (.some, .some):
            throw .invalid(field: "ttlSeconds", reason: "give expiresAt or ttlSeconds, not both")
        case (.some(let at), nil):
            guard at > now else { throw .invalid(field: "expiresAt", reason: "must be in the future") }
            return at
        case (nil, .some(let ttl)):
            guard (1...KeyRules.maxTTLSeconds).contains(ttl) else {
                throw .invalid(field: "ttlSeconds", reason: "must be 1 to \(KeyRules.maxTTLSeconds)")
            }
            return now + ttl * 1_000_000
        case (nil, nil):
            return nil
        }
    }

    /// `key.updated` with only the fields that change; nil when nothing changes.
    public static func update(_ state: KeyState, _ changes: KeyChanges, expectedVersion: UInt64?, now: Int64)
        throws(LedgerError) -> EventPayload?
    {
        if let expected = expectedVersion, expected != state.version {
            throw .conflict("key \(state.id) is at version \(state.version), not \(expected)")
        }
        try mutable(state, now: now)
        var u = KeyUpdated()
        if let name = changes.name {
            try KeyRules.name(name)
            if name != state.name { u.name = name }
        }
        if let scopes = changes.scopes {
            let clean = try KeyRules.scopes(scopes)
            if clean != state.scopes { u.scopes = clean }
        }
        if let accounts = changes.accounts {
            let clean = try KeyRules.tokens(accounts, field: "accounts", max: KeyRules.maxAccounts)
            if clean != state.accounts { u.accounts = clean }
        }
        if let list = changes.ipAllowlist {
            let clean = try KeyRules.allowlist(list)
            if clean != state.ipAllowlist { u.ipAllowlist = clean }
        }
        if let expiresAt = changes.expiresAt {
            if let at = expiresAt, at <= now { throw .invalid(field: "expiresAt", reason: "must be in the future") }
            if expiresAt != state.expiresAt { u.expiresAt = .some(expiresAt) }
        }
        if let limits = changes.rateLimits {
            try KeyRules.rateLimits(limits)
            if limits != state.rateLimits { u.rateLimits = limits }
        }
        if let patch = changes.metadata {
            try KeyRules.metadata(patch)
            var merged = state.metadata
            for (key, value) in patch { merged[key] = value }
            try KeyRules.metadataSize(merged)
            if merged != state.metadata { u.metadata = merged }
        }
        return u.isEmpty ? nil : .updated(u)
    }

    public static func rotate(_ state: KeyState, gracePeriodSeconds: Int64, secretDigest: Digest, now: Int64)
        throws(LedgerError) -> EventPayload
    {
        guard (0...KeyRules.maxGraceSeconds).contains(gracePeriodSeconds) else {
            throw .invalid(field: "gracePeriodSeconds", reason: "must be 0 to \(KeyRules.maxGraceSeconds) (7 days)")
        }
        try mutable(state, now: now)
        return .rotated(
            KeyRotated(
                secretDigest: secretDigest, gracePeriodSeconds: UInt32(gracePeriodSeconds),
                previousSecretExpiresAt: now + gracePeriodSeconds * 1_000_000))
    }

    public static func suspend(_ state: KeyState, reason: String?, now: Int64) throws(LedgerError) -> EventPayload {
        try KeyRules.reason(reason)
        let status = state.status(at: now)
        guard status == .active else {
            throw .conflict("key \(state.id) is \(status.wireName); only an active key can be suspended")
        }
        return .suspended(reason: reason)
    }

    public static func reactivate(_ state: KeyState, now: Int64) throws(LedgerError) -> EventPayload {
        let status = state.status(at: now)
        guard status == .suspended else {
            throw .conflict("key \(state.id) is \(status.wireName); only a suspended key can be reactivated")
        }
        return .reactivated
    }

    /// `key.revoked`; an expired key may still be revoked (made permanent).
    public static func revoke(_ state: KeyState, reason: String?) throws(LedgerError) -> EventPayload {
        try KeyRules.reason(reason)
        guard state.status != .revoked else { throw .conflict("key \(state.id) is already revoked") }
        return .revoked(reason: reason)
    }

    public static func addCredits(_ state: KeyState, amount: Int64, now: Int64) throws(LedgerError) -> EventPayload {
        guard (1...KeyRules.maxCredits).contains(amount) else {
            throw .invalid(field: "add", reason: "must be 1 to \(KeyRules.maxCredits)")
        }
        try mutable(state, now: now)
        guard let credits = state.credits else { throw .conflict("key \(state.id) has unlimited credits") }
        guard credits <= KeyRules.maxCredits - amount else {
            throw .conflict("key \(state.id) would hold more than \(KeyRules.maxCredits) credits")
        }
        return .creditsAdded(add: amount, balance: credits + amount)
    }

    /// `key.expired` when the key's expiry has passed and is not yet recorded (the key's
    /// stored status is not final).
    public static func expire(_ state: KeyState, now: Int64) -> EventPayload? {
        expires(state, now: now) ? .expired : nil
    }

    /// True when `key.expired` is due: ``expire(_:now:)`` is not nil.
    static func expires(_ state: KeyState, now: Int64) -> Bool {
        guard let at = state.expiresAt, at <= now, !state.status.isFinal else { return false }
        return true
    }

    static func mutable(_ state: KeyState, now: Int64) throws(LedgerError) {
        let status = state.status(at: now)
        guard !status.isFinal else {
            throw .conflict("key \(state.id) is \(status.wireName) and can no longer change")
        }
    }
}
