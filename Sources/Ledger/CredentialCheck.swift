public import Events
public import Projections

/// Management authentication, pure: may this ledger key, presented with this secret
/// from this address, act at `now` with this scope? (API.md, "Management credentials".)
///
/// Deliberately not ``VerifyDecision``: a gateway's verification rule (accounts,
/// costs, environments) changing must not change who may administer the ledger. Both
/// share only the small facts of ``KeyState`` (``KeyState/unusable(match:at:)``,
/// ``KeyState/allows(_:)``, the rate-limit and credit checks).
public enum CredentialCheck {
    /// Why the credential may not act.
    public enum Refusal: Sendable, Equatable {
        case revoked
        case expired
        case suspended
        case ipNotAllowed
        case lacksScope(String)
        case rateLimited(retryAfterSeconds: Int)
        case outOfCredits

        /// What the caller is told: 401 for a credential that cannot be used, 403 for one
        /// that may not be used so, 429 over its limits.
        public var error: LedgerError {
            switch self {
            case .revoked: .unauthorized("the credential is revoked")
            case .expired: .unauthorized("the credential is expired")
            case .suspended: .unauthorized("the credential is suspended")
            case .ipNotAllowed: .forbidden("the credential may not be used from this address")
            case .lacksScope(let scope): .forbidden("the credential lacks the scope \(scope)")
            case .rateLimited(let retry):
                .rateLimited("the credential is over its rate limit", retryAfterSeconds: retry)
            case .outOfCredits: .rateLimited("the credential is out of credits", retryAfterSeconds: 3600)
            }
        }
    }

    /// The checks in order: status (revoked, retired secret, expired, suspended), IP
    /// allowlist, scope, rate limits, credits (one per use).
    ///
    /// - Parameters:
    ///   - key: the state of the key the secret opened.
    ///   - match: how the secret matched it.
    ///   - scope: the scope the action needs; nil checks everything but a scope.
    ///   - ip: the request's client address (nil on the Unix socket).
    /// - Returns: nil when the credential may act.
    public static func check(
        _ key: KeyState, match: KeyState.SecretMatch, scope: String?, ip: IPAddress?, now: Int64
    ) -> Refusal? {
        switch key.unusable(match: match, at: now) {
        case .revoked: return .revoked
        case .suspended: return .suspended
        case .some: return .expired
        case nil: break
        }
        if !key.allows(ip) { return .ipNotAllowed }
        if let scope, !key.scopes.contains(scope) { return .lacksScope(scope) }
        if let retry = key.rateLimitRetryAfter(at: now) { return .rateLimited(retryAfterSeconds: retry) }
        if !key.covers(cost: 1) { return .outOfCredits }
        return nil
    }
}
