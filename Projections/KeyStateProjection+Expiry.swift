import Events
public import Store

extension KeyStateProjection {
    /// One page of the keys that can still expire (with an expiry, neither revoked nor
    /// recorded expired), soonest expiry first, from the expiry index.
    ///
    /// - Parameters:
    ///   - expiresBefore: only keys expiring before this time (µs); nil for all.
    ///   - after: the index entry the previous page ended on (its cursor); nil: from the start.
    /// - Returns: the page, the index entry of its last key, and whether more follow.
    public func listByExpiry(
        owner: String?, status: KeyStatus?, now: Int64, expiresBefore: Int64?, after: [UInt8]?, limit: Int,
        in txn: borrowing Transaction
    ) throws -> (keys: [KeyState], last: [UInt8]?, more: Bool) {
        var page: [KeyState] = []
        var last: [UInt8]?
        var more = false
        try txn.withCursor(expiries) { cursor in
            var entry = try after.map { try cursor.seek(atLeast: $0 + [0]) } ?? cursor.first()
            while let e = entry, e.key.count == 24 {
                let sortable = UInt64(bigEndian: e.key.loadUnaligned(as: UInt64.self))
                if let expiresBefore, Int64(bitPattern: sortable ^ (1 << 63)) >= expiresBefore { break }
                if let id = KeyID(bytes: UnsafeRawBufferPointer(rebasing: e.key[8...])),
                    let state = try state(of: id, in: txn),
                    owner == nil || state.owner == owner, status == nil || state.status(at: now) == status
                {
                    if page.count == limit {
                        more = true
                        break
                    }
                    page.append(state)
                    last = Array(e.key)
                }
                entry = try cursor.next()
            }
        }
        return (page, last, more)
    }
}
