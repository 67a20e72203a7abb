public import Events

/// What a key holds beyond ``KeyState`` for quotas: its plan, refill, self-rotation and
/// purge settings, the windows of its plan's limits (its own, not shared), and whether
/// it was purged. Exists once a key has a `key.configured` event.
public struct KeyQuota: Equatable, Sendable {
    public var id: KeyID
    public var settings: KeyQuotaSettings
    public var windows: LimitWindows
    public var refillAnchor: Int64
    /// The key was revoked or expired: no more refills.
    public var isFinal: Bool
    /// When the key became final (its purge counts from here).
    public var finalAt: Int64?
    public var isPurged: Bool

    public init(id: KeyID, settings: KeyQuotaSettings, at time: Int64) {
        self.id = id
        self.settings = settings
        windows = LimitWindows()
        refillAnchor = time
        isFinal = false
        isPurged = false
    }

    /// The fold: the key's quota state after `event`, given the key's plan before it.
    public static func evolve(_ old: KeyQuota?, _ event: Event, plan: PlanState?) -> KeyQuota? {
        switch event.payload {
        case .configured(let settings):
            guard var quota = old else { return KeyQuota(id: event.keyID, settings: settings, at: event.time) }
            if settings.refill != quota.settings.refill || settings.plan != quota.settings.plan {
                quota.refillAnchor = event.time
            }
            quota.settings = settings
            return quota
        case .accessed(let access) where access.code == .valid:
            guard var quota = old else { return nil }
            let limits = LimitWindows.effective(own: [], plan: plan?.settings.rateLimits ?? [])
            if !limits.isEmpty || !quota.windows.entries.isEmpty { quota.windows.countGrant(limits, at: event.time) }
            return quota
        case .creditsRefilled:
            guard var quota = old else { return nil }
            quota.refillAnchor = event.time
            return quota
        case .revoked, .expired:
            guard var quota = old, !quota.isFinal else { return old }
            quota.isFinal = true
            quota.finalAt = event.time
            return quota
        case .purged:
            guard var quota = old else { return nil }
            quota.isPurged = true
            return quota
        default:
            return old
        }
    }

    public func refill(plan: PlanState?) -> Refill? { settings.refill ?? plan?.settings.refill }

    /// When the next refill is due; nil when there is none (or the key is final).
    public func refillDue(plan: PlanState?) -> Int64? {
        guard !isFinal else { return nil }
        return refill(plan: plan).map { $0.nextBoundary(after: refillAnchor) }
    }

    /// When the key is to be purged: its purge delay after it became final; nil when
    /// it is not final, has no delay or is purged already.
    public var purgeDue: Int64? {
        guard !isPurged, let finalAt, let seconds = settings.purgeAfterSeconds else { return nil }
        return finalAt + seconds * 1_000_000
    }

    public func encoded() -> [UInt8] {
        var w = BinaryWriter()
        w.u8(1)
        w.raw(id.bytes)
        EventCodec.encodePayload(.configured(settings), into: &w)
        windows.encode(&w)
        w.i64(refillAnchor)
        w.u8((isFinal ? 1 : 0) | (isPurged ? 2 : 0))
        w.optionalI64(finalAt)
        return w.bytes
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(EventDecodingError) {
        var r = BinaryReader(bytes)
        guard try r.u8() == 1, let id = KeyID(bytes: try r.raw(16)) else { throw r.fail("bad key quota row") }
        guard case .configured(let settings) = try EventCodec.decodePayload(.configured, &r, accessDetails: false)
        else { throw r.fail("bad key quota row") }
        self.init(id: id, settings: settings, at: 0)
        windows = try LimitWindows(decoding: &r)
        refillAnchor = try r.i64()
        let flags = try r.u8()
        isFinal = flags & 1 != 0
        isPurged = flags & 2 != 0
        finalAt = try r.optionalI64()
        guard r.isAtEnd else { throw r.fail("bad key quota row") }
    }
}
