import Events
public import Store

extension QuotaProjection {
    /// Every owner, plan, key quota and plan member, for loading the writer's decision
    /// state (``QuotaRows`` complete).
    public func loadAll(in txn: borrowing Transaction) throws -> (
        owners: [OwnerState], plans: [PlanState], keys: [KeyQuota], members: [(plan: String, subject: QuotaSubject)]
    ) {
        func rows<T>(_ table: Table, _ decode: (UnsafeRawBufferPointer) throws -> T) throws -> [T] {
            try txn.withCursor(table) { cursor in
                var out: [T] = []
                var entry = try cursor.first()
                while let e = entry {
                    out.append(try decode(e.value))
                    entry = try cursor.next()
                }
                return out
            }
        }
        let memberKeys: [[UInt8]] = try txn.withCursor(members) { cursor in
            var out: [[UInt8]] = []
            var entry = try cursor.first()
            while let e = entry {
                out.append(Array(e.key))
                entry = try cursor.next()
            }
            return out
        }
        let pairs: [(plan: String, subject: QuotaSubject)] = memberKeys.compactMap { key in
            guard let zero = key.firstIndex(of: 0), let subject = QuotaSubject(key[(zero + 1)...]) else { return nil }
            return (String(decoding: key[..<zero], as: UTF8.self), subject)
        }
        return (
            try rows(owners) { try OwnerState(decoding: $0) }, try rows(plans) { try PlanState(decoding: $0) },
            try rows(keys) { try KeyQuota(decoding: $0) }, pairs
        )
    }
}
