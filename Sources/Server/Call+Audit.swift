import Events
import HTTP
import JSON
import Ledger
import Projections

extension Call {
    /// Reads the filters shared by logs and audit: eventTypes, start, end, limit, cursor.
    func auditWindow(_ query: inout Query) throws(APIError) -> (
        types: [EventType], start: Int64?, end: Int64?, limit: Int, before: UInt64?
    ) {
        var types: [EventType] = []
        if let list = query.string("eventTypes") {
            for name in list.split(separator: ",", omittingEmptySubsequences: false) {
                guard let type = EventType(wireName: name) else {
                    throw .invalid(
                        "eventTypes",
                        "unknown event type \(name.prefix(64)); types are key.created, key.updated, key.rotated, key.suspended, key.reactivated, key.revoked, key.expired, key.credits_added, key.accessed"
                    )
                }
                if !types.contains(type) { types.append(type) }
            }
        }
        let start = try time(&query, "start")
        let end = try time(&query, "end")
        if let start, let end, start >= end { throw .invalid("start", "must be before end") }
        let limit = try query.integer("limit", in: 1...1000, default: 100) ?? 100
        var before: UInt64?
        if let cursor = query.string("cursor") {
            guard let bytes = Base64URL.decode(cursor), bytes.count == 8 else {
                throw .invalid("cursor", "not a cursor this endpoint gave out")
            }
            before = bytes.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) }
        }
        return (types, start, end, limit, before)
    }

    func time(_ query: inout Query, _ name: String) throws(APIError) -> Int64? {
        guard let text = query.string(name) else { return nil }
        guard let micros = RFC3339.parse(text) else {
            throw .invalid(name, "must be an RFC 3339 time such as 2026-11-23T07:00:00Z")
        }
        return micros
    }

    /// Runs an audit page and answers it (recording a ledger key's use first).
    func answerAudit(
        _ filter: AuditFilter, _ window: (types: [EventType], start: Int64?, end: Int64?, limit: Int, before: UInt64?),
        _ context: CommandContext, record: Bool
    ) throws(APIError) {
        let page: (events: [EventLog.Stored], next: UInt64?)
        do {
            page = try ledger.auditPage(
                filter, start: window.start, end: window.end, before: window.before, limit: window.limit)
        } catch {
            throw APIError(error)
        }
        let next = page.next.map { Base64URL.encode(withUnsafeBytes(of: $0.bigEndian) { Array($0) }) }
        finishRead(
            context,
            ok(
                200,
                Envelope.list(page.events, nextCursor: next) { stored, w in
                    Self.writeEvent(stored, record: record, &w)
                }))
    }

    /// The key, when the caller may read its history (ledger keys: own owner only).
    func readableKey(_ id: KeyID, _ principal: Principal, _ context: CommandContext) throws(APIError) -> KeyState {
        let bound = try readerOwner(principal, context)
        let key: KeyState?
        do {
            key = try ledger.key(id)
        } catch {
            throw APIError(error)
        }
        guard let key else { throw .notFound("no key \(id)") }
        if let bound, key.owner != bound { throw .forbidden("key \(id) belongs to another owner") }
        return key
    }

    /// `GET /v1/keys/{id}/logs`.
    func keyLogs(_ id: KeyID) throws(APIError) {
        let (principal, context) = try management("ledger:audit")
        var query = try Query(request.query)
        let window = try auditWindow(&query)
        let record = try Self.includesRecord(&query)
        try query.finish()
        _ = try readableKey(id, principal, context)
        try answerAudit(AuditFilter(keyID: id, types: window.types), window, context, record: record)
    }

    /// `GET /v1/audit`.
    func auditLog() throws(APIError) {
        let (principal, context) = try management("ledger:audit")
        var query = try Query(request.query)
        var filter = try auditFilter(&query)
        let window = try auditWindow(&query)
        filter.types = window.types
        let record = try Self.includesRecord(&query)
        try query.finish()
        filter = try bounded(filter, to: try readerOwner(principal, context))
        try answerAudit(filter, window, context, record: record)
    }

    /// Reads the filters of `/v1/audit` besides its window: owner, keyId, actor, ip.
    func auditFilter(_ query: inout Query) throws(APIError) -> AuditFilter {
        var filter = AuditFilter()
        filter.owner = query.string("owner")
        if let owner = filter.owner { try Self.checkOwner(owner) }
        if let keyText = query.string("keyId") {
            guard let id = KeyID(keyText) else {
                throw .invalid("keyId", "must be a key id such as key_0352V4t5jmTpbIFhSG0y6Y")
            }
            filter.keyID = id
        }
        if let actorText = query.string("actor") { filter.actor = Actor(id: actorText) }
        if let ipText = query.string("ip") {
            guard let ip = IPAddress(ipText) else { throw .invalid("ip", "must be an IPv4 or IPv6 address") }
            filter.ip = ip
        }
        return filter
    }

    /// `filter` narrowed to the owner a ledger key is bound to (nil: root or socket).
    func bounded(_ filter: AuditFilter, to bound: String?) throws(APIError) -> AuditFilter {
        guard let bound else { return filter }
        if let owner = filter.owner, owner != bound {
            throw .forbidden("this credential may only read the audit log of owner \(bound)")
        }
        var narrowed = filter
        narrowed.owner = bound
        return narrowed
    }

    /// `GET /v1/keys/{id}/state?at=`: the key as it was then.
    func keyState(_ id: KeyID) throws(APIError) {
        let (principal, context) = try management("ledger:audit")
        var query = try Query(request.query)
        guard let at = query.string("at") else {
            throw .invalid("at", "is required: an RFC 3339 time or an event sequence number")
        }
        try query.finish()
        _ = try readableKey(id, principal, context)
        guard let point = HistoryPoint(at) else {
            throw .invalid("at", "must be an RFC 3339 time or an event sequence number")
        }
        if point == .seq(0) { throw .invalid("at", "sequence numbers start at 1") }
        let found: KeyState?
        let asOf: Int64
        do {
            (found, asOf) = try ledger.state(of: id, at: point)
        } catch {
            throw APIError(error)
        }
        guard let state = found else { throw .notFound("key \(id) did not exist yet at \(at)") }
        finishRead(context, ok(200, Envelope.data { KeyJSON.write(state, now: asOf, into: &$0) }))
    }
}
