extension EventCodec {
    /// The owner, plan and key-quota payloads (codes 22-27).
    static func encodeQuota(_ payload: EventPayload, into w: inout BinaryWriter) {
        switch payload {
        case .ownerUpdated(let o):
            encode(o.rateLimits, &w)
            w.optionalI64(o.credits)
            encode(o.refill, &w)
            w.optionalString(o.plan)
            encode(o.metadata, &w)
            w.u8(o.leakPolicy?.rawValue ?? 0)
            w.optionalI64(o.purgeAfterSeconds)
        case .planUpdated(let p):
            w.string(p.name)
            encode(p.rateLimits, &w)
            w.optionalI64(p.credits)
            encode(p.refill, &w)
        case .configured(let k):
            w.optionalString(k.plan)
            encode(k.refill, &w)
            w.u8(k.selfRotate ? 1 : 0)
            w.optionalI64(k.purgeAfterSeconds)
        case .creditsRefilled(let balance), .ownerCreditsRefilled(let balance):
            w.i64(balance)
        default:
            break
        }
    }

    static func decodeQuota(_ type: EventType, _ r: inout BinaryReader) throws(EventDecodingError) -> EventPayload {
        switch type {
        case .ownerUpdated:
            var o = OwnerSettings()
            o.rateLimits = try rateLimits(&r)
            o.credits = try r.optionalI64()
            o.refill = try refill(&r)
            o.plan = try r.optionalString()
            o.metadata = try metadata(&r)
            let raw = try r.u8()
            if raw != 0 {
                guard let policy = LeakPolicy(rawValue: raw) else { throw r.fail("unknown leak policy \(raw)") }
                o.leakPolicy = policy
            }
            o.purgeAfterSeconds = try r.optionalI64()
            return .ownerUpdated(o)
        case .planUpdated:
            var p = PlanSettings(name: try r.string())
            p.rateLimits = try rateLimits(&r)
            p.credits = try r.optionalI64()
            p.refill = try refill(&r)
            return .planUpdated(p)
        case .configured:
            var k = KeyQuotaSettings()
            k.plan = try r.optionalString()
            k.refill = try refill(&r)
            let flag = try r.u8()
            guard flag <= 1 else { throw r.fail("bad selfRotate flag") }
            k.selfRotate = flag == 1
            k.purgeAfterSeconds = try r.optionalI64()
            return .configured(k)
        case .creditsRefilled:
            return .creditsRefilled(balance: try r.i64())
        case .ownerCreditsRefilled:
            return .ownerCreditsRefilled(balance: try r.i64())
        default:
            return .purged
        }
    }

    /// 0 for none, else the interval, the amount and the day of month (0: none).
    static func encode(_ refill: Refill?, _ w: inout BinaryWriter) {
        guard let refill else {
            w.u8(0)
            return
        }
        w.u8(refill.interval.rawValue)
        w.i64(refill.amount)
        w.u8(refill.dayOfMonth ?? 0)
    }

    static func refill(_ r: inout BinaryReader) throws(EventDecodingError) -> Refill? {
        let raw = try r.u8()
        if raw == 0 { return nil }
        guard let interval = Refill.Interval(rawValue: raw) else { throw r.fail("unknown refill interval \(raw)") }
        let amount = try r.i64()
        let day = try r.u8()
        guard day <= 31 else { throw r.fail("bad refill day") }
        return Refill(interval: interval, amount: amount, dayOfMonth: day == 0 ? nil : day)
    }
}
