public import Events

/// Something credits and refills belong to: an owner or a key.
public enum QuotaSubject: Hashable, Sendable {
    case owner(String)
    case key(KeyID)
    /// A key's purge (in the due index only).
    case purge(KeyID)

    var kind: UInt8 {
        switch self {
        case .owner: 1
        case .key: 2
        case .purge: 3
        }
    }

    var bytes: [UInt8] {
        switch self {
        case .owner(let name): [kind] + Array(name.utf8)
        case .key(let id), .purge(let id): [kind] + id.bytes
        }
    }

    public init?(_ bytes: ArraySlice<UInt8>) {
        guard let kind = bytes.first else { return nil }
        let rest = bytes.dropFirst()
        switch kind {
        case 1: self = .owner(String(decoding: rest, as: UTF8.self))
        case 2, 3:
            guard let id = Array(rest).withUnsafeBytes({ KeyID(bytes: $0) }) else { return nil }
            self = kind == 2 ? .key(id) : .purge(id)
        default: return nil
        }
    }

    /// Index key of a plan member: plan name, 0, subject.
    static func memberKey(_ plan: String, _ subject: QuotaSubject) -> [UInt8] {
        Array(plan.utf8) + [0] + subject.bytes
    }

    /// Index key of a due refill: time big-endian, subject.
    static func dueKey(_ time: Int64, _ subject: QuotaSubject) -> [UInt8] {
        withUnsafeBytes(of: UInt64(bitPattern: time).bigEndian) { Array($0) } + subject.bytes
    }
}

/// The fold of owner, plan and key-quota events, over any ``QuotaRows``.
public enum QuotaFold {
    public static func apply(_ event: Event, _ rows: inout QuotaRows) throws {
        switch event.payload {
        case .planUpdated(let settings):
            let old = try rows.plan(settings.name)
            guard let new = PlanState.evolve(old, event) else { return }
            rows.put(new)
            guard old?.settings.refill != new.settings.refill else { return }
            for subject in try rows.members(of: settings.name) {
                switch subject {
                case .owner(let name):
                    guard let owner = try rows.owner(name) else { continue }
                    try moveDue(subject, from: owner.refillDue(plan: old), to: owner.refillDue(plan: new), &rows)
                case .key(let id):
                    guard let quota = try rows.keyQuota(id) else { continue }
                    try moveDue(subject, from: quota.refillDue(plan: old), to: quota.refillDue(plan: new), &rows)
                case .purge:
                    continue
                }
            }
        case .ownerUpdated, .ownerCreditsRefilled:
            let old = try rows.owner(event.owner)
            let oldPlan = try old?.settings.plan.flatMap { try rows.plan($0) }
            guard let new = OwnerState.evolve(old, event, plan: oldPlan) else { return }
            rows.put(new)
            let newPlan = try new.settings.plan.flatMap { try rows.plan($0) }
            try moveMember(.owner(event.owner), from: old?.settings.plan, to: new.settings.plan, &rows)
            try moveDue(.owner(event.owner), from: old?.refillDue(plan: oldPlan), to: new.refillDue(plan: newPlan), &rows)
        case .accessed(let access) where access.code == .valid:
            try countGrant(key: event.keyID, owner: event.owner, cost: access.cost, at: event.time, &rows)
        case .configured, .creditsRefilled, .revoked, .expired, .purged:
            let old = try rows.keyQuota(event.keyID)
            guard old != nil || event.type == .configured else { return }
            let oldPlan = try old?.settings.plan.flatMap { try rows.plan($0) }
            guard let new = KeyQuota.evolve(old, event, plan: oldPlan) else { return }
            rows.put(new)
            let newPlan = try new.settings.plan.flatMap { try rows.plan($0) }
            try moveMember(.key(event.keyID), from: old?.settings.plan, to: new.settings.plan, &rows)
            try moveDue(.key(event.keyID), from: old?.refillDue(plan: oldPlan), to: new.refillDue(plan: newPlan), &rows)
            try moveDue(.purge(event.keyID), from: old?.purgeDue, to: new.purgeDue, &rows)
        default:
            return
        }
    }

    /// A granted request of `key` (of `owner`): its plan windows and its owner's.
    static func countGrant(key: KeyID, owner: String, cost: UInt32, at time: Int64, _ rows: inout QuotaRows) throws {
        if var quota = try rows.keyQuota(key) {
            let limits = try quota.settings.plan.flatMap { try rows.plan($0) }?.settings.rateLimits ?? []
            if !limits.isEmpty || !quota.windows.entries.isEmpty {
                quota.windows.countGrant(LimitWindows.effective(own: [], plan: limits), at: time)
                rows.put(quota)
            }
        }
        if let before = try rows.owner(owner) {
            var state = before
            let plan = try state.settings.plan.flatMap { try rows.plan($0) }
            state.countGrant(cost: cost, plan: plan, at: time)
            // An owner with no limits and no credits is not written again on every grant.
            if state != before { rows.put(state) }
        }
    }

    static func moveMember(_ subject: QuotaSubject, from old: String?, to new: String?, _ rows: inout QuotaRows) throws {
        guard old != new else { return }
        if let old { rows.setMember(old, subject, false) }
        if let new { rows.setMember(new, subject, true) }
    }

    static func moveDue(_ subject: QuotaSubject, from old: Int64?, to new: Int64?, _ rows: inout QuotaRows) throws {
        guard old != new else { return }
        if let old { rows.setDue(QuotaSubject.dueKey(old, subject), false) }
        if let new { rows.setDue(QuotaSubject.dueKey(new, subject), true) }
    }
}
