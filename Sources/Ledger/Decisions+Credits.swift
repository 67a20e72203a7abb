public import Events
public import Projections

extension Decisions {
    /// `key.credits_set`: the key's credits become `balance`, whatever they were
    /// (an unlimited key becomes limited).
    public static func setCredits(_ state: KeyState, balance: Int64, now: Int64) throws(LedgerError) -> EventPayload {
        try KeyRules.credits(balance, field: "set")
        try mutable(state, now: now)
        return .creditsSet(balance: balance)
    }

    /// `key.credits_subtracted`: takes `amount` off a limited key's credits.
    ///
    /// - Throws: 409 when the key is unlimited or holds fewer than `amount`.
    public static func subtractCredits(_ state: KeyState, amount: Int64, now: Int64) throws(LedgerError)
        -> EventPayload
    {
        guard (0...KeyRules.maxCredits).contains(amount) else {
            throw .invalid(field: "subtract", reason: "must be 0 to \(KeyRules.maxCredits)")
        }
        try mutable(state, now: now)
        guard let credits = state.credits else { throw .conflict("key \(state.id) has unlimited credits") }
        guard credits >= amount else {
            throw .conflict("key \(state.id) holds \(credits) credits, fewer than \(amount)")
        }
        return .creditsSubtracted(subtract: amount, balance: credits - amount)
    }
}
