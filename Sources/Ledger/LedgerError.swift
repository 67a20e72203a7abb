/// Why a command or query was refused. Each case says what the caller needs to fix it;
/// none ever contains a secret.
public enum LedgerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A field is missing, ill-typed or out of range.
    case invalid(field: String, reason: String)
    /// No such key (or event).
    case notFound(String)
    /// The key's version is not the expected one, or the transition is not allowed.
    case conflict(String)
    /// The credential is missing, unknown, revoked, suspended or expired.
    case unauthorized(String)
    /// The credential lacks the scope, or acts on another owner's key.
    case forbidden(String)
    /// The management credential is over its rate limit or out of credits.
    case rateLimited(String, retryAfterSeconds: Int)
    /// The ledger cannot append (disk full, read-only, I/O error): nothing was changed.
    case unavailable(String)

    public var description: String {
        switch self {
        case .invalid(let field, let reason): "\(field): \(reason)"
        case .notFound(let m), .conflict(let m), .unauthorized(let m), .forbidden(let m),
            .rateLimited(let m, _), .unavailable(let m):
            m
        }
    }
}
