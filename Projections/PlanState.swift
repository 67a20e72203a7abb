public import Events

/// A plan (API.md, "Owners, plans and quotas"): limits, credits and a refill that every
/// key and owner on it shares. Changing it changes them all at once.
public struct PlanState: Equatable, Sendable {
    public var settings: PlanSettings
    public var createdAt: Int64
    public var updatedAt: Int64
    /// `plan.updated` events so far.
    public var version: UInt64

    public var name: String { settings.name }

    /// The fold: the plan after `event` (nil before it exists).
    public static func evolve(_ old: PlanState?, _ event: Event) -> PlanState? {
        guard case .planUpdated(let settings) = event.payload else { return old }
        guard var plan = old else {
            return PlanState(settings: settings, createdAt: event.time, updatedAt: event.time, version: 1)
        }
        plan.settings = settings
        plan.updatedAt = event.time
        plan.version += 1
        return plan
    }

    public func encoded() -> [UInt8] {
        var w = BinaryWriter()
        w.u8(1)
        EventCodec.encodePayload(.planUpdated(settings), into: &w)
        w.i64(createdAt)
        w.i64(updatedAt)
        w.varint(version)
        return w.bytes
    }

    public init(settings: PlanSettings, createdAt: Int64, updatedAt: Int64, version: UInt64) {
        self.settings = settings
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.version = version
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(EventDecodingError) {
        var r = BinaryReader(bytes)
        guard try r.u8() == 1, case .planUpdated(let settings) = try EventCodec.decodePayload(
            .planUpdated, &r, accessDetails: false)
        else { throw r.fail("bad plan row") }
        self.init(settings: settings, createdAt: try r.i64(), updatedAt: try r.i64(), version: try r.varint())
        guard r.isAtEnd else { throw r.fail("bad plan row") }
    }
}
