public import JSON

extension EventJSON {
    /// The `data` fields of the owner, plan and key-quota events.
    static func quotaData(_ payload: EventPayload, _ w: inout JSONWriter) {
        switch payload {
        case .ownerUpdated(let o):
            limits(o.rateLimits, &w)
            w.field("credits", o.credits)
            refill(o.refill, &w)
            w.field("plan", o.plan)
            metadata(o.metadata, &w)
            w.field("leakPolicy", o.leakPolicy?.wireName)
            w.field("purgeAfterSeconds", o.purgeAfterSeconds)
        case .planUpdated(let p):
            w.field("plan", p.name)
            limits(p.rateLimits, &w)
            w.field("credits", p.credits)
            refill(p.refill, &w)
        case .configured(let k):
            w.field("plan", k.plan)
            refill(k.refill, &w)
            w.field("selfRotate", k.selfRotate)
            w.field("purgeAfterSeconds", k.purgeAfterSeconds)
        case .creditsRefilled(let balance), .ownerCreditsRefilled(let balance):
            w.field("balance", balance)
        default:
            break
        }
    }

    /// Writes `refill: {interval, amount, dayOfMonth?}` or `refill: null`.
    public static func refill(_ refill: Refill?, _ w: inout JSONWriter) {
        w.key("refill")
        guard let refill else {
            w.null()
            return
        }
        w.beginObject()
        w.field("interval", refill.interval.wireName)
        w.field("amount", refill.amount)
        if let day = refill.dayOfMonth { w.field("dayOfMonth", Int64(day)) }
        w.endObject()
    }
}
