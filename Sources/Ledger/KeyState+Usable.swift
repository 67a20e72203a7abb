public import Events
public import Projections

/// Small pure facts about a key at a moment, shared by the verification decision and
/// the management-credential check. Each is one question; neither check is the other.
extension KeyState {
    /// Why the key cannot be used at `now` because of its life or the secret presented
    /// (revoked, a retired previous secret, expired, suspended), in that order; nil when
    /// it can.
    public func unusable(match: SecretMatch, at now: Int64) -> VerifyCode? {
        let status = status(at: now)
        if status == .revoked { return .revoked }
        if match == .retired { return .expired }
        if status == .expired { return .expired }
        if status == .suspended { return .suspended }
        return nil
    }

    /// True when a request from `ip` passes the key's allowlist (an empty list allows
    /// every address; a request without an address passes only an empty list).
    public func allows(_ ip: IPAddress?) -> Bool {
        guard !ipAllowlist.isEmpty else { return true }
        guard let ip else { return false }
        return ipAllowlist.contains { $0.contains(ip) }
    }

    /// True when one of the key's rate limits has no room left at `now`.
    public func isOverRateLimit(at now: Int64) -> Bool {
        for (limit, window) in zip(rateLimits, windows) {
            let micros = Int64(limit.windowSeconds) * 1_000_000
            if window.rolled(to: now, windowMicros: micros).estimate(at: now, windowMicros: micros) >= limit.limit {
                return true
            }
        }
        return false
    }

    /// Seconds until every exhausted rate limit has room again (at least 1); nil when
    /// none is exhausted.
    public func rateLimitRetryAfter(at now: Int64) -> Int? {
        var retryAfter: Int?
        for (limit, window) in zip(rateLimits, windows) {
            let micros = Int64(limit.windowSeconds) * 1_000_000
            let rolled = window.rolled(to: now, windowMicros: micros)
            guard rolled.estimate(at: now, windowMicros: micros) >= limit.limit else { continue }
            let wait = Int((rolled.start + micros - now + 999_999) / 1_000_000)
            retryAfter = max(retryAfter ?? 1, max(1, wait))
        }
        return retryAfter
    }

    /// True when the key's credits (if it has any) cover `cost`.
    public func covers(cost: UInt32) -> Bool {
        guard let credits else { return true }
        return credits >= Int64(cost)
    }
}
