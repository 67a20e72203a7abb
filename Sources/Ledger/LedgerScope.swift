/// The scopes that make a key a management credential (API.md, "Management
/// credentials"). Every scope starting with `ledger:` is a right over the ledger
/// itself: none may be handed on by a key that lacks it, whichever it is.
public enum LedgerScope: String, CaseIterable, Sendable {
    /// Manage keys of the credential's own owner.
    case keys = "ledger:keys"
    /// Read logs, usage and history of its own owner.
    case audit = "ledger:audit"
    /// Loosen quotas (credits, rate limits, expiry) of its own owner's keys.
    case quotas = "ledger:quotas"
    /// Manage its own owner's webhooks.
    case webhooks = "ledger:webhooks"
    /// Read `/metrics` and nothing else.
    case metrics = "ledger:metrics"

    /// True for every scope in the ledger's namespace, known or not.
    public static func isLedgerScope(_ scope: String) -> Bool { scope.hasPrefix("ledger:") }
}
