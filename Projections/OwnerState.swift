public import Events

/// An owner record (API.md, "Owners, plans and quotas"): limits whose windows all the
/// owner's keys share, credits every key of the owner spends, a refill, a plan, a leak
/// policy and a purge delay.
public struct OwnerState: Equatable, Sendable {
    public var name: String
    /// `credits` is the current balance.
    public var settings: OwnerSettings
    /// The shared windows of the owner's own limits and of its plan's.
    public var windows: LimitWindows
    public var createdAt: Int64
    public var updatedAt: Int64
    /// `owner.updated` events so far.
    public var version: UInt64
    /// When the refill schedule last started or ran: the next refill is the first
    /// boundary after it.
    public var refillAnchor: Int64

    /// The fold: the owner after `event`, given its plan as it stands before `event`
    /// (nil before the owner exists). Accesses granted to any key of the owner count in
    /// its windows and spend its credits.
    public static func evolve(_ old: OwnerState?, _ event: Event, plan: PlanState?) -> OwnerState? {
        switch event.payload {
        case .ownerUpdated(let settings):
            guard var owner = old else {
                return OwnerState(
                    name: event.owner, settings: settings, windows: LimitWindows(), createdAt: event.time,
                    updatedAt: event.time, version: 1, refillAnchor: event.time)
            }
            if settings.refill != owner.settings.refill || settings.plan != owner.settings.plan {
                owner.refillAnchor = event.time
            }
            owner.settings = settings
            owner.updatedAt = event.time
            owner.version += 1
            return owner
        case .ownerCreditsRefilled(let balance):
            guard var owner = old else { return nil }
            owner.settings.credits = balance
            owner.refillAnchor = event.time
            return owner
        case .accessed(let access) where access.code == .valid:
            guard var owner = old else { return nil }
            owner.countGrant(cost: access.cost, plan: plan, at: event.time)
            return owner
        default:
            return old
        }
    }

    /// A granted request of one of the owner's keys: fills every shared window, spends
    /// the cost.
    public mutating func countGrant(cost: UInt32, plan: PlanState?, at time: Int64) {
        let limits = LimitWindows.effective(own: settings.rateLimits, plan: plan?.settings.rateLimits ?? [])
        if !limits.isEmpty || !windows.entries.isEmpty { windows.countGrant(limits, at: time) }
        if let credits = settings.credits { settings.credits = credits - Int64(cost) }
    }

    /// The refill in force: the owner's own, else its plan's.
    public func refill(plan: PlanState?) -> Refill? { settings.refill ?? plan?.settings.refill }

    /// When the next refill is due; nil when there is no refill.
    public func refillDue(plan: PlanState?) -> Int64? {
        refill(plan: plan).map { $0.nextBoundary(after: refillAnchor) }
    }

    public func encoded() -> [UInt8] {
        var w = BinaryWriter()
        w.u8(1)
        w.string(name)
        EventCodec.encodePayload(.ownerUpdated(settings), into: &w)
        windows.encode(&w)
        w.i64(createdAt)
        w.i64(updatedAt)
        w.varint(version)
        w.i64(refillAnchor)
        return w.bytes
    }

    public init(
        name: String, settings: OwnerSettings, windows: LimitWindows, createdAt: Int64, updatedAt: Int64,
        version: UInt64, refillAnchor: Int64
    ) {
        self.name = name
        self.settings = settings
        self.windows = windows
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.version = version
        self.refillAnchor = refillAnchor
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(EventDecodingError) {
        var r = BinaryReader(bytes)
        guard try r.u8() == 1 else { throw r.fail("bad owner row") }
        let name = try r.string()
        guard case .ownerUpdated(let settings) = try EventCodec.decodePayload(.ownerUpdated, &r, accessDetails: false)
        else { throw r.fail("bad owner row") }
        let windows = try LimitWindows(decoding: &r)
        self.init(
            name: name, settings: settings, windows: windows, createdAt: try r.i64(), updatedAt: try r.i64(),
            version: try r.varint(), refillAnchor: try r.i64())
        guard r.isAtEnd else { throw r.fail("bad owner row") }
    }
}
