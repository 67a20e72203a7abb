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
        latencyMicros: UInt32, now: Int64
    ) -> (code: VerifyCode, events: [EventPayload]) {
        var events: [EventPayload] = []
        if let expired = Decisions.expire(state, now: now) { events.append(expired) }
        let code = check(state, match: match, request: request, now: now)
        events.append(
            .accessed(
                KeyAccessed(
                    code: code, scope: request.scope, account: request.account,
                    endpoint: request.endpoint, latencyMicros: latencyMicros,
                    cost: request.cost)))
        return (code, events)
    }

    /// The code alone, with no events: the checks in API.md order.
    public static func check(_ state: KeyState, match: KeyState.SecretMatch, request: VerifyRequest, now: Int64)
        -> VerifyCode
    {
        if let code = state.unusable(match: match, at: now) { return code }
        if !state.allows(request.ip) { return .ipNotAllowed }
        if let scope = request.scope, !state.scopes.contains(scope) { return .insufficientScope }
        if let account = request.account, !state.accounts.isEmpty, !state.accounts.contains(account) {
            return .notFound
        }
        if state.isOverRateLimit(at: now) { return .rateLimited }
        if !state.covers(cost: request.cost) { return .usageExceeded }
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

    /// The full answer once the events are applied: `after` is the key's new state.
    public static func result(code: VerifyCode, after: KeyState, now: Int64) -> VerifyResult {
        var tightest: RateLimitStatus?
        for (limit, window) in zip(after.rateLimits, after.windows) {
            let micros = Int64(limit.windowSeconds) * 1_000_000
            let rolled = window.rolled(to: now, windowMicros: micros)
            let used = rolled.estimate(at: now, windowMicros: micros)
            let status = RateLimitStatus(
                limit: limit.limit, remaining: limit.limit > used ? limit.limit - used : 0,
                resetAt: rolled.start + micros)
            if tightest == nil || status.remaining < tightest?.remaining ?? 0 { tightest = status }
        }
        return VerifyResult(
            code: code, status: status(for: code), key: after, rateLimit: tightest,
            retryAfterSeconds: code == .rateLimited ? after.rateLimitRetryAfter(at: now) : nil)
    }
}
