public import Events
public import Store

extension KeyStateProjection {
    /// One page of keys, newest first (ids sort by creation time).
    ///
    /// - Parameters:
    ///   - owner: only this owner's keys; nil for all.
    ///   - status: only keys in this status as of `now` (``KeyState/status(at:)``); nil for any.
    ///   - now: the time a passed expiry is judged at (µs since the epoch).
    ///   - before: start after this id (the previous page's last); nil for the first page.
    ///   - limit: at most this many.
    /// - Returns: the page and whether more keys follow.
    public func list(
        owner: String?, status: KeyStatus?, now: Int64, before: KeyID?, limit: Int,
        in txn: borrowing Transaction
    ) throws -> (keys: [KeyState], more: Bool) {
        var page: [KeyState] = []
        var more = false
        if let owner {
            let prefix = [UInt8(owner.utf8.count)] + Array(owner.utf8)
            try txn.withCursor(owners) { cursor in
                let start = before.map { Self.ownerKey(owner, $0) } ?? (prefix + [UInt8](repeating: 0xFF, count: 17))
                var entry = try cursor.seek(atMost: start)
                if let e = entry, let id = before, e.key.elementsEqual(Self.ownerKey(owner, id)) {
                    entry = try cursor.previous()
                }
                while let e = entry, e.key.starts(with: prefix) {
                    guard let id = KeyID(bytes: UnsafeRawBufferPointer(rebasing: e.key[prefix.count...])),
                        let state = try state(of: id, in: txn)
                    else { break }
                    if status == nil || state.status(at: now) == status {
                        if page.count == limit {
                            more = true
                            break
                        }
                        page.append(state)
                    }
                    entry = try cursor.previous()
                }
            }
        } else {
            try txn.withCursor(keys) { cursor in
                var entry = try before.map { try cursor.seek(atMost: $0.bytes) } ?? (try cursor.last())
                if let e = entry, let id = before, e.key.elementsEqual(id.bytes) { entry = try cursor.previous() }
                while let e = entry {
                    let state = try KeyState(decoding: e.value)
                    if status == nil || state.status(at: now) == status {
                        if page.count == limit {
                            more = true
                            break
                        }
                        page.append(state)
                    }
                    entry = try cursor.previous()
                }
            }
        }
        return (page, more)
    }

    /// Keys whose expiry is at or before `time` and that have not yet expired, revoked
    /// or not; at most `limit`, soonest first.
    public func expiring(atOrBefore time: Int64, limit: Int, in txn: borrowing Transaction) throws -> [KeyID] {
        var due: [KeyID] = []
        try txn.withCursor(expiries) { cursor in
            var entry = try cursor.first()
            while let e = entry, due.count < limit, e.key.count == 24 {
                let sortable = UInt64(bigEndian: e.key.loadUnaligned(as: UInt64.self))
                guard Int64(bitPattern: sortable ^ (1 << 63)) <= time else { break }
                if let id = KeyID(bytes: UnsafeRawBufferPointer(rebasing: e.key[8...])) { due.append(id) }
                entry = try cursor.next()
            }
        }
        return due
    }
}
