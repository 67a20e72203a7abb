import Events
import Projections

/// One rate limit's standing after a decision.
public struct RateLimitStatus: Sendable, Equatable {
    /// Whose window a limit counts in: the key's own, or one shared by all the owner's keys.
    public enum Scope: String, Sendable {
        case key, owner
    }

    public var name: String?
    public var limit: UInt64
    public var remaining: UInt64
    /// µs since the epoch when the current window ends.
    public var resetAt: Int64
    public var scope: Scope

    public init(name: String? = nil, limit: UInt64, remaining: UInt64, resetAt: Int64, scope: Scope = .key) {
        self.name = name
        self.limit = limit
        self.remaining = remaining
        self.resetAt = resetAt
        self.scope = scope
    }

    /// The standing of `limit` whose counter is `window`, at `now`.
    init(_ limit: RateLimit, _ window: RateWindow, scope: Scope, now: Int64) {
        let micros = Int64(limit.windowSeconds) * 1_000_000
        let rolled = window.rolled(to: now, windowMicros: micros)
        let used = rolled.estimate(at: now, windowMicros: micros)
        self.init(
            name: limit.name, limit: limit.limit, remaining: limit.limit > used ? limit.limit - used : 0,
            resetAt: rolled.start + micros, scope: scope)
    }

    /// The first of the limits with the fewest requests remaining.
    static func tightest(_ limits: [RateLimitStatus]) -> RateLimitStatus? {
        var tightest: RateLimitStatus?
        for status in limits where tightest == nil || status.remaining < tightest?.remaining ?? 0 {
            tightest = status
        }
        return tightest
    }
}
