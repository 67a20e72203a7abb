import Events
import Projections
import Synchronization

/// The owner, plan and key-quota part of the writer's decision state (beside
/// ``DecisionState``'s keys), in memory: loaded from the quota projection when the writer
/// starts; every event the writer appends is folded into it (by the same ``QuotaFold``
/// as the projection) before the next command is decided. The one seam through which
/// decisions read owners, plans and key quotas.
///
/// Changes are journaled like ``DecisionState``'s: ``mark()``, ``rollback(to:)``,
/// ``committed()``; committed states are published to a ``QuotaSnapshot`` that reads on
/// other threads see. Noncopyable, like ``DecisionState``: calls borrow it in place.
struct QuotaStates: ~Copyable {
    private var owners: [String: OwnerState] = [:]
    private var plans: [String: PlanState] = [:]
    private var keys: [KeyID: KeyQuota] = [:]
    private var members: [String: Set<QuotaSubject>] = [:]
    /// Refill and purge times, checked lazily against the states when they come due.
    private var due = MinHeap<QuotaSubject>()

    private enum Undo {
        case owner(String, OwnerState?)
        case plan(String, PlanState?)
        case key(KeyID, KeyQuota?)
        case member(String, QuotaSubject, Bool)
    }
    private var journal: [Undo] = []
    /// Subjects changed since the last publication.
    private var changed: [QuotaSubject] = []
    private var changedPlans: [String] = []
    let snapshot: QuotaSnapshot

    init(snapshot: QuotaSnapshot) { self.snapshot = snapshot }

    func owner(_ name: String) -> OwnerState? { owners[name] }
    func plan(_ name: String) -> PlanState? { plans[name] }
    func keyQuota(_ id: KeyID) -> KeyQuota? { keys[id] }

    /// Everything a verification of `key` decides over besides the key itself.
    /// Built in the caller's storage, not assembled and copied there (a context is large).
    func context(of key: KeyState) -> QuotaContext {
        guard !owners.isEmpty || !keys.isEmpty else { return QuotaContext() }
        let keyQuota = keys[key.id]
        let owner = owners[key.owner]
        // (Matched, not compared with nil: the comparison copies the states out.)
        if case .none = keyQuota, case .none = owner { return QuotaContext() }
        return QuotaContext(
            keyQuota: keyQuota, keyPlan: keyQuota?.settings.plan.flatMap { plans[$0] }, owner: owner,
            ownerPlan: owner?.settings.plan.flatMap { plans[$0] })
    }

    /// Loads what the quota projection holds.
    mutating func load(
        _ rows: (owners: [OwnerState], plans: [PlanState], keys: [KeyQuota], members: [(plan: String, subject: QuotaSubject)])
    ) {
        for owner in rows.owners { owners[owner.name] = owner }
        for plan in rows.plans { plans[plan.name] = plan }
        for quota in rows.keys { keys[quota.id] = quota }
        for (plan, subject) in rows.members { members[plan, default: []].insert(subject) }
        for owner in rows.owners {
            if let at = owner.refillDue(plan: owner.settings.plan.flatMap { plans[$0] }) { due.push(at, .owner(owner.name)) }
        }
        for quota in rows.keys {
            if let at = quota.refillDue(plan: quota.settings.plan.flatMap { plans[$0] }) { due.push(at, .key(quota.id)) }
            if let at = quota.purgeDue { due.push(at, .purge(quota.id)) }
        }
        snapshot.replace(owners: owners, plans: plans, keys: keys)
    }

    /// Folds one appended event.
    mutating func apply(_ event: Event) throws {
        // The hot path: an access of a key with no quota state and no owner record.
        // (Looked up by index: a subscript would copy the state out to compare it with nil.)
        if case .accessed = event.payload, keys.index(forKey: event.keyID) == nil,
            owners.index(forKey: event.owner) == nil
        {
            return
        }
        var rows = QuotaRows(isComplete: false)
        while true {
            var attempt = rows
            do {
                try QuotaFold.apply(event, &attempt)
                keep(attempt)
                return
            } catch let fault as QuotaRows.Fault {
                switch fault {
                case .owner(let name): rows.owners[name] = .some(owners[name])
                case .plan(let name): rows.plans[name] = .some(plans[name])
                case .key(let id): rows.keys[id] = .some(keys[id])
                case .members(let plan): rows.members[plan] = members[plan] ?? []
                }
            }
        }
    }

    /// Takes in what one fold changed, journaling the old values.
    private mutating func keep(_ rows: QuotaRows) {
        for name in rows.dirtyOwners {
            guard let new = rows.owners[name] ?? nil else { continue }
            journal.append(.owner(name, owners[name]))
            owners[name] = new
            changed.append(.owner(name))
        }
        for name in rows.dirtyPlans {
            guard let new = rows.plans[name] ?? nil else { continue }
            journal.append(.plan(name, plans[name]))
            plans[name] = new
            changedPlans.append(name)
        }
        for id in rows.dirtyKeys {
            guard let new = rows.keys[id] ?? nil else { continue }
            journal.append(.key(id, keys[id]))
            keys[id] = new
            changed.append(.key(id))
        }
        for (key, present) in rows.memberChanges {
            guard let zero = key.firstIndex(of: 0), let subject = QuotaSubject(key[(zero + 1)...]) else { continue }
            let plan = String(decoding: key[..<zero], as: UTF8.self)
            let was = members[plan]?.contains(subject) ?? false
            journal.append(.member(plan, subject, was))
            if present { members[plan, default: []].insert(subject) } else { members[plan]?.remove(subject) }
        }
        for (key, present) in rows.dueChanges where present && key.count > 8 {
            guard let subject = QuotaSubject(key[8...]) else { continue }
            due.push(Int64(bitPattern: key[..<8].reduce(0) { $0 << 8 | UInt64($1) }), subject)
        }
    }

    /// When `subject` is due now, by its current state.
    private func dueTime(_ subject: QuotaSubject) -> Int64? {
        switch subject {
        case .owner(let name):
            guard let owner = owners[name] else { return nil }
            return owner.refillDue(plan: owner.settings.plan.flatMap { plans[$0] })
        case .key(let id):
            guard let quota = keys[id] else { return nil }
            return quota.refillDue(plan: quota.settings.plan.flatMap { plans[$0] })
        case .purge(let id):
            return keys[id]?.purgeDue
        }
    }

    /// Up to `limit` refills and purges due at `now`, oldest first.
    mutating func dueSubjects(atOrBefore now: Int64, limit: Int) -> [QuotaSubject] {
        var out: [QuotaSubject] = []
        var kept: [(Int64, QuotaSubject)] = []
        while out.count < limit, let (at, subject) = due.top, at <= now {
            due.pop()
            guard dueTime(subject) == at, !out.contains(subject) else { continue }
            out.append(subject)
            kept.append((at, subject))
        }
        // Still due until their events fold (a failed command leaves them due).
        for (at, subject) in kept { due.push(at, subject) }
        return out
    }

    mutating func hasDue(atOrBefore now: Int64) -> Bool { !dueSubjects(atOrBefore: now, limit: 1).isEmpty }

    func mark() -> Int { journal.count }

    mutating func rollback(to mark: Int) {
        while journal.count > mark {
            switch journal.removeLast() {
            case .owner(let name, let old): owners[name] = old
            case .plan(let name, let old): plans[name] = old
            case .key(let id, let old): keys[id] = old
            case .member(let plan, let subject, let was):
                if was { members[plan, default: []].insert(subject) } else { members[plan]?.remove(subject) }
            }
        }
    }

    /// The batch is durable: its changes stay, and reads on other threads see them.
    mutating func committed() {
        journal.removeAll(keepingCapacity: true)
        guard !changed.isEmpty || !changedPlans.isEmpty else { return }
        snapshot.update(
            owners: changed.compactMap { if case .owner(let n) = $0 { (n, owners[n]) } else { nil } },
            plans: changedPlans.map { ($0, plans[$0]) },
            keys: changed.compactMap { if case .key(let id) = $0 { (id, keys[id]) } else { nil } })
        changed.removeAll(keepingCapacity: true)
        changedPlans.removeAll(keepingCapacity: true)
    }
}

/// The committed owner, plan and key-quota states, for reads on any thread (GET
/// owners and plans, the quota fields of a key object): current as of the last commit.
final class QuotaSnapshot: Sendable {
    private struct State {
        var owners: [String: OwnerState] = [:]
        var plans: [String: PlanState] = [:]
        var keys: [KeyID: KeyQuota] = [:]
    }
    private let state = Mutex(State())

    func replace(owners: [String: OwnerState], plans: [String: PlanState], keys: [KeyID: KeyQuota]) {
        state.withLock { $0 = State(owners: owners, plans: plans, keys: keys) }
    }

    func update(owners: [(String, OwnerState?)], plans: [(String, PlanState?)], keys: [(KeyID, KeyQuota?)]) {
        state.withLock { s in
            for (name, owner) in owners { s.owners[name] = owner }
            for (name, plan) in plans { s.plans[name] = plan }
            for (id, quota) in keys { s.keys[id] = quota }
        }
    }

    func owner(_ name: String) -> OwnerState? { state.withLock { $0.owners[name] } }
    func plan(_ name: String) -> PlanState? { state.withLock { $0.plans[name] } }
    func keyQuota(_ id: KeyID) -> KeyQuota? { state.withLock { $0.keys[id] } }

    /// Owners by name after `after`, at most `limit`.
    func owners(after: String?, limit: Int) -> [OwnerState] {
        state.withLock { s in
            Array(s.owners.values.filter { after == nil || $0.name > after ?? "" }.sorted { $0.name < $1.name }.prefix(limit))
        }
    }

    func plans(after: String?, limit: Int) -> [PlanState] {
        state.withLock { s in
            Array(s.plans.values.filter { after == nil || $0.name > after ?? "" }.sorted { $0.name < $1.name }.prefix(limit))
        }
    }
}
