public import Events
public import Projections

/// The verification decision (API.md, "Verification"), pure: the state of the key the
/// secret points to, how the secret matched, the request and the time in, the code
/// and the events out.
public enum VerifyDecision {
    /// The outcome for a known key, with the events to append: `key.expired` when the
    /// expiry passed unnoticed, then always `key.accessed`.
    public static func decide(
        _ state: KeyState, match: KeyState.SecretMatch, request: VerifyRequest,
        latencyMicros: UInt32, now: Int64, quota: QuotaContext = QuotaContext()
    ) -> (code: VerifyCode, events: [EventPayload]) {
        let decision = decideEvents(
            state, match: match, request: request, latencyMicros: latencyMicros, now: now, quota: quota)
        return (decision.code, (decision.expires ? [.expired] : []) + [.accessed(decision.access)])
    }

    /// ``decide(_:match:request:latencyMicros:now:quota:)`` with its events apart and no
    /// array made for them (the writer appends them one by one): `expires` says whether
    /// `key.expired` comes first, `access` is the `key.accessed` after it.
    static func decideEvents(
        _ state: KeyState, match: KeyState.SecretMatch, request: VerifyRequest,
        latencyMicros: UInt32, now: Int64, quota: QuotaContext
    ) -> (code: VerifyCode, expires: Bool, access: KeyAccessed) {
        let code = check(state, match: match, request: request, now: now, quota: quota)
        let access = KeyAccessed(
            code: code, scope: request.scope, account: request.account, endpoint: request.endpoint,
            latencyMicros: latencyMicros, cost: request.cost)
        return (code, Decisions.expires(state, now: now), access)
    }

    /// The code alone, with no events: the checks in API.md order.
    public static func check(
        _ state: KeyState, match: KeyState.SecretMatch, request: VerifyRequest, now: Int64,
        quota: QuotaContext = QuotaContext()
    ) -> VerifyCode {
        if state.hidden(from: request) || quota.keyQuota?.isPurged == true { return .notFound }
        if let code = state.unusable(match: match, at: now) { return code }
        if !state.allows(request.ip) { return .ipNotAllowed }
        if let scope = request.scope, !state.scopes.contains(scope) { return .insufficientScope }
        if !request.scopes.allSatisfy(state.scopes.contains) { return .insufficientScope }
        if let account = request.account, !state.accounts.isEmpty, !state.accounts.contains(account) {
            return .notFound
        }
        if state.isOverRateLimit(at: now) || quota.isOverRateLimit(at: now) { return .rateLimited }
        if !state.covers(cost: request.cost) || !quota.covers(cost: request.cost) { return .usageExceeded }
        return .valid
    }

    /// The HTTP status a gateway should answer for `code`.
    public static func status(for code: VerifyCode) -> Int {
        switch code {
        case .valid: 200
        case .expired, .revoked, .suspended: 401
        case .insufficientScope, .ipNotAllowed: 403
        case .notFound: 404
        case .rateLimited, .usageExceeded: 429
        }
    }

    /// The full answer once the events are applied: `after` is the key's new state,
    /// moved into the answer (the writer's one copy of it). A key of another environment
    /// than the request asks for is answered as an unknown secret would be (its access
    /// is still recorded).
    public static func result(
        code: VerifyCode, after: consuming KeyState, request: VerifyRequest, now: Int64,
        quota: borrowing QuotaContext = QuotaContext()
    ) -> VerifyResult {
        if after.hidden(from: request) || quota.keyQuota?.isPurged == true {
            return VerifyResult(code: .notFound, status: 401)
        }
        let quotaLimits = quota.statuses(at: now)
        var limits: [RateLimitStatus] = []
        limits.reserveCapacity(after.rateLimits.count + quotaLimits.count)
        for (limit, window) in zip(after.rateLimits, after.windows) {
            limits.append(RateLimitStatus(limit, window, scope: .key, now: now))
        }
        limits.append(contentsOf: quotaLimits)
        var retryAfter: Int?
        if code == .rateLimited {
            let waits = [after.rateLimitRetryAfter(at: now), quota.retryAfter(at: now)].compactMap { $0 }
            retryAfter = waits.max() ?? 1
        }
        return VerifyResult(
            code: code, status: status(for: code), key: consume after, rateLimit: RateLimitStatus.tightest(limits),
            rateLimits: limits, retryAfterSeconds: retryAfter,
            plan: quota.keyQuota?.settings.plan ?? quota.owner?.settings.plan,
            ownerCredits: quota.owner?.settings.credits)
    }
}

extension KeyState {
    /// True when a verification asks for another environment than the key's.
    func hidden(from request: VerifyRequest) -> Bool {
        if let environment = request.environment, environment != self.environment { return true }
        return false
    }
}
