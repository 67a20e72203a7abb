public import Events

/// The rows the quota fold reads and writes, in memory. A rebuild holds all of them
/// (``isComplete``: a row not here does not exist). The incremental fold starts empty:
/// reading a row it does not hold throws ``Fault`` naming it, the caller loads it from
/// LMDB and runs the fold again, so both paths run the one ``QuotaFold``.
public struct QuotaRows {
    /// A row the fold needs and an incomplete set of rows does not hold.
    public enum Fault: Error {
        case owner(String)
        case plan(String)
        case key(KeyID)
        case members(String)
    }

    public let isComplete: Bool
    /// `.some(nil)`: known not to exist.
    public var owners: [String: OwnerState?] = [:]
    public var plans: [String: PlanState?] = [:]
    public var keys: [KeyID: KeyQuota?] = [:]
    public var members: [String: Set<QuotaSubject>] = [:]
    /// Changed since the last write, to write.
    public var dirtyOwners = Set<String>()
    public var dirtyPlans = Set<String>()
    public var dirtyKeys = Set<KeyID>()
    /// Index entries to add (true) or delete (false), by index key: plan members (written
    /// to the projection), due refills and purges (kept by the writer's ``QuotaStates``).
    public var memberChanges: [[UInt8]: Bool] = [:]
    public var dueChanges: [[UInt8]: Bool] = [:]

    public init(isComplete: Bool) { self.isComplete = isComplete }

    mutating func owner(_ name: String) throws -> OwnerState? {
        if let row = owners[name] { return row }
        if isComplete { return nil }
        throw Fault.owner(name)
    }

    mutating func plan(_ name: String) throws -> PlanState? {
        if let row = plans[name] { return row }
        if isComplete { return nil }
        throw Fault.plan(name)
    }

    mutating func keyQuota(_ id: KeyID) throws -> KeyQuota? {
        if let row = keys[id] { return row }
        if isComplete { return nil }
        throw Fault.key(id)
    }

    /// The members of `plan`, in index order.
    mutating func members(of plan: String) throws -> [QuotaSubject] {
        if let set = members[plan] { return set.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) } }
        if isComplete { return [] }
        throw Fault.members(plan)
    }

    mutating func put(_ owner: OwnerState) {
        owners[owner.name] = .some(owner)
        dirtyOwners.insert(owner.name)
    }

    mutating func put(_ plan: PlanState) {
        plans[plan.name] = .some(plan)
        dirtyPlans.insert(plan.name)
    }

    mutating func put(_ quota: KeyQuota) {
        keys[quota.id] = .some(quota)
        dirtyKeys.insert(quota.id)
    }

    /// Records a plan's member joining or leaving; the set itself is kept only where it
    /// is held (a rebuild, or a plan an incremental fold loaded), so joining a plan never
    /// reads its other members.
    mutating func setMember(_ plan: String, _ subject: QuotaSubject, _ present: Bool) {
        if members[plan] == nil, isComplete { members[plan] = [] }
        if present { members[plan]?.insert(subject) } else { members[plan]?.remove(subject) }
        memberChanges[QuotaSubject.memberKey(plan, subject)] = present
    }

    mutating func setDue(_ key: [UInt8], _ present: Bool) { dueChanges[key] = present }

    /// Forgets what was written (the rows stay).
    mutating func written() {
        dirtyOwners.removeAll()
        dirtyPlans.removeAll()
        dirtyKeys.removeAll()
        memberChanges.removeAll()
        dueChanges.removeAll()
    }
}
