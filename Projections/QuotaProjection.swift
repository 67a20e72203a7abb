public import Events
public import Store

/// Owners, plans and the quota side of keys (``KeyQuota``), with plan -> members (so a
/// plan's change reaches every key and owner on it). The writer loads its quota state
/// from here and keeps the refill and purge times in memory.
public struct QuotaProjection: Projection {
    public static let tableSpecs = [
        TableSpec("quota_owners"), TableSpec("quota_plans"), TableSpec("quota_keys"), TableSpec("quota_members"),
    ]
    public let name = "quotas"
    public let needsEventContext = false
    let owners: Table
    let plans: Table
    let keys: Table
    let members: Table
    public var tables: [Table] { [owners, plans, keys, members] }

    public init(environment: Environment) {
        owners = environment.table("quota_owners")
        plans = environment.table("quota_plans")
        keys = environment.table("quota_keys")
        members = environment.table("quota_members")
    }

    public func apply(_ event: Event, in txn: borrowing Transaction) throws {
        // Most events are accesses of keys with no quota row whose owner has no record:
        // two lookups, nothing allocated.
        if case .accessed = event.payload {
            let hasKey = try event.keyID.bytes.withUnsafeBytes { try txn.get(keys, $0) != nil }
            let hasOwner = try Array(event.owner.utf8).withUnsafeBytes { try txn.get(owners, $0) != nil }
            if !hasKey && !hasOwner { return }
        }
        var loaded = QuotaRows(isComplete: false)
        while true {
            var rows = loaded
            do {
                try QuotaFold.apply(event, &rows)
                try write(rows, in: txn)
                return
            } catch let fault as QuotaRows.Fault {
                try load(fault, into: &loaded, txn)
            }
        }
    }

    /// Reads the row a fold asked for.
    private func load(_ fault: QuotaRows.Fault, into rows: inout QuotaRows, _ txn: borrowing Transaction) throws {
        switch fault {
        case .owner(let name): rows.owners[name] = .some(try owner(name, in: txn))
        case .plan(let name): rows.plans[name] = .some(try plan(name, in: txn))
        case .key(let id): rows.keys[id] = .some(try keyQuota(id, in: txn))
        case .members(let plan):
            let prefix = Array(plan.utf8) + [0]
            var set = Set<QuotaSubject>()
            try txn.withCursor(members) { cursor in
                var entry = try cursor.seek(atLeast: prefix)
                while let e = entry, e.key.starts(with: prefix) {
                    if let subject = QuotaSubject(Array(e.key)[prefix.count...]) { set.insert(subject) }
                    entry = try cursor.next()
                }
            }
            rows.members[plan] = set
        }
    }

    /// Writes the rows and index entries the fold changed.
    func write(_ rows: QuotaRows, in txn: borrowing Transaction) throws {
        for name in rows.dirtyOwners { if let row = rows.owners[name] ?? nil { try txn.put(owners, Array(name.utf8), row.encoded()) } }
        for name in rows.dirtyPlans { if let row = rows.plans[name] ?? nil { try txn.put(plans, Array(name.utf8), row.encoded()) } }
        for id in rows.dirtyKeys { if let row = rows.keys[id] ?? nil { try txn.put(keys, id.bytes, row.encoded()) } }
        for (key, present) in rows.memberChanges {
            if present { try txn.put(members, key, []) } else { _ = try txn.delete(members, key) }
        }
    }

    public func owner(_ name: String, in txn: borrowing Transaction) throws -> OwnerState? {
        try Array(name.utf8).withUnsafeBytes { key in try txn.get(owners, key).map { try OwnerState(decoding: $0) } }
    }

    public func plan(_ name: String, in txn: borrowing Transaction) throws -> PlanState? {
        try Array(name.utf8).withUnsafeBytes { key in try txn.get(plans, key).map { try PlanState(decoding: $0) } }
    }

    public func keyQuota(_ id: KeyID, in txn: borrowing Transaction) throws -> KeyQuota? {
        try id.bytes.withUnsafeBytes { key in try txn.get(keys, key).map { try KeyQuota(decoding: $0) } }
    }

    /// Owners (or plans) by name, after `after`, at most `limit`.
    public func ownerPage(after: String?, limit: Int, in txn: borrowing Transaction) throws -> [OwnerState] {
        try page(owners, after: after, limit: limit, in: txn) { try OwnerState(decoding: $0) }
    }

    public func planPage(after: String?, limit: Int, in txn: borrowing Transaction) throws -> [PlanState] {
        try page(plans, after: after, limit: limit, in: txn) { try PlanState(decoding: $0) }
    }

    private func page<T>(
        _ table: Table, after: String?, limit: Int, in txn: borrowing Transaction,
        _ decode: (UnsafeRawBufferPointer) throws -> T
    ) throws -> [T] {
        try txn.withCursor(table) { cursor in
            var out: [T] = []
            var entry = try after.map { try cursor.seek(atLeast: Array($0.utf8) + [0]) } ?? cursor.first()
            while let e = entry, out.count < limit {
                out.append(try decode(e.value))
                entry = try cursor.next()
            }
            return out
        }
    }

    public func makeRebuilder() -> any ProjectionRebuilder { Rebuilder(projection: self) }
}
