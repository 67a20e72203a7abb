public import Events

extension KeyState {
    /// The fold: the state after `event`, given the state before it (nil before the
    /// key exists). Pure; the writer and a replay both use exactly this.
    public static func evolve(_ state: KeyState?, _ event: Event) -> KeyState? {
        if case .created(let created) = event.payload {
            return KeyState(id: event.keyID, owner: event.owner, created: created, at: event.time)
        }
        guard var s = state else { return nil }
        s.apply(event.payload, at: event.time)
        return s
    }

    mutating func apply(_ payload: EventPayload, at time: Int64) {
        switch payload {
        case .created:
            return
        case .accessed(let access):
            // A management request answered with a failure is recorded, but spends nothing.
            recordAccess(access.code, cost: access.cost, at: time, spends: (access.status ?? 200) < 400)
            return
        case .request, .authFailed:
            // Ledger-wide records: they name no key's stream.
            return
        case .updated(let u):
            if let name = u.name { self.name = name }
            if let scopes = u.scopes { self.scopes = scopes }
            if let accounts = u.accounts { self.accounts = accounts }
            if let list = u.ipAllowlist { ipAllowlist = list }
            if let expiresAt = u.expiresAt { self.expiresAt = expiresAt }
            if let limits = u.rateLimits {
                windows = RateWindow.carried(from: rateLimits, windows, to: limits)
                rateLimits = limits
            }
            if let metadata = u.metadata { self.metadata = metadata }
        case .rotated(let r):
            previousSecretDigest = secretDigest
            previousSecretExpiresAt = r.previousSecretExpiresAt
            secretDigest = r.secretDigest
            rotatedAt = time
        case .suspended:
            status = .suspended
        case .reactivated:
            status = .active
        case .revoked:
            status = .revoked
        case .expired:
            status = .expired
        case .creditsAdded(_, let balance), .creditsSet(let balance), .creditsSubtracted(_, let balance),
            .creditsRefilled(let balance):
            credits = balance
        case .configured, .purged:
            // Kept by the quota projection (KeyQuota); the key's stream still counts them.
            break
        case .expiring, .leaked:
            // Notices about the key, not changes to it: they count in its stream but
            // leave its version (what If-Match compares) alone.
            events += 1
            return
        case .ownerUpdated, .planUpdated, .ownerCreditsRefilled, .webhookCreated, .webhookUpdated, .webhookDeleted,
            .webhookSecretRotated, .webhookDisabled:
            // Events of no key.
            return
        }
        events += 1
        version += 1
    }

    /// Folds a `key.accessed` with this code and cost: one more event in the key's
    /// stream, and a grant's spending. (A rebuild folds access records through this.)
    ///
    /// - Parameter spends: false for a management request answered with a failure.
    mutating func recordAccess(_ code: VerifyCode, cost: UInt32, at time: Int64, spends: Bool = true) {
        events += 1
        if code == .valid, spends { recordGrant(cost: cost, at: time) }
    }

    /// Counts a granted request: spends its cost and fills every rate-limit window.
    mutating func recordGrant(cost: UInt32, at time: Int64) {
        lastUsedAt = time
        if let credits { self.credits = credits - Int64(cost) }
        for i in rateLimits.indices {
            windows[i] = windows[i].rolled(to: time, windowMicros: Int64(rateLimits[i].windowSeconds) * 1_000_000)
            windows[i].current += 1
        }
    }

    /// True when `digest` opens this key at `time`: the current secret, or the previous
    /// one within its grace period. Compares in constant time.
    public func secretMatches(_ digest: Digest, at time: Int64) -> SecretMatch {
        if secretDigest.constantTimeEquals(digest) { return .current }
        if let previous = previousSecretDigest, previous.constantTimeEquals(digest) {
            if let until = previousSecretExpiresAt, time < until { return .previous }
            return .retired
        }
        return .none
    }

    /// How a presented secret relates to a key.
    public enum SecretMatch: Sendable {
        case current, previous, retired, none
    }
}

extension KeyState {
    /// ``evolve(_:_:)`` in place, for an event of the key's stream after its creation: no
    /// copy of the state (nor of its arrays) per event.
    public mutating func fold(_ event: Event) {
        if case .created = event.payload {
            if let new = Self.evolve(self, event) { self = new }
            return
        }
        apply(event.payload, at: event.time)
    }
}
