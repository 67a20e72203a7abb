import Events
import HTTP
import JSON
import Ledger
import Projections
import Rendering

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
                        "unknown event type \(name.prefix(64)); types are "
                            + EventType.allCases.map(\.wireName).joined(separator: ", "))
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

    /// One audit page as the answer.
    static func auditPage(
        _ ledger: Ledger, _ filter: AuditFilter,
        _ window: (types: [EventType], start: Int64?, end: Int64?, limit: Int, before: UInt64?),
        record: Bool = false
    ) throws(APIError) -> HTTPResponse {
        let page: (events: [EventLog.Stored], next: UInt64?)
        do throws(LedgerError) {
            page = try ledger.auditPage(
                filter, start: window.start, end: window.end, before: window.before, limit: window.limit)
        } catch {
            throw APIError(error)
        }
        let next = page.next.map { Base64URL.encode(withUnsafeBytes(of: $0.bigEndian) { Array($0) }) }
        return HTTPResponse(
            status: 200, headers: [("Content-Type", "application/json")],
            body: Envelope.list(page.events, nextCursor: next) { stored, w in
                Self.writeEvent(stored, record: record, &w)
            })
    }

    /// Throws 404 unless key `id` exists (the grant has already bounded a ledger key to
    /// its own owner's keys; this is the lookup, not a right).
    static func requireKey(_ ledger: Ledger, _ id: KeyID) throws(APIError) {
        let key: KeyState?
        do throws(LedgerError) {
            key = try ledger.key(id)
        } catch {
            throw APIError(error)
        }
        guard key != nil else { throw .notFound("no key \(id)") }
    }

    /// `GET /v1/keys/{id}/logs`.
    func keyLogs(_ id: KeyID) throws(APIError) {
        let context = try context()
        var query = try Query(request.query)
        let window = try auditWindow(&query)
        let record = try Self.includesRecord(&query)
        try query.finish()
        let ledger = self.ledger
        authorized(.readKeyHistory(id), context) { _ throws(APIError) in
            try Self.requireKey(ledger, id)
            return try Self.auditPage(
                ledger, AuditFilter(keyID: id, types: window.types), window, record: record)
        }
    }

    /// `GET /v1/audit`.
    func auditLog() throws(APIError) {
        let context = try context()
        var query = try Query(request.query)
        var filter = try auditFilter(&query)
        let window = try auditWindow(&query)
        filter.types = window.types
        let record = try Self.includesRecord(&query)
        try query.finish()
        let ledger = self.ledger
        let asked = filter
        authorized(.readAudit(owner: asked.owner), context) { grant throws(APIError) in
            var filter = asked
            if let owner = grant.owner { filter.owner = owner }
            return try Self.auditPage(ledger, filter, window, record: record)
        }
    }

    /// Reads the filters of `/v1/audit` besides its window: owner, keyId, actor, ip, route.
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
        if let routes = query.string("route") {
            for route in routes.split(separator: ",", omittingEmptySubsequences: false) {
                guard route.hasPrefix("/"), route.utf8.count <= 200 else {
                    throw .invalid("route", "must be route templates such as /v1/audit or /v1/keys/{id}/logs")
                }
                if !filter.routes.contains(String(route)) { filter.routes.append(String(route)) }
            }
        }
        return filter
    }

    /// `GET /v1/keys/{id}/state?at=`: the key as it was then.
    func keyState(_ id: KeyID) throws(APIError) {
        let context = try context()
        var query = try Query(request.query)
        guard let at = query.string("at") else {
            throw .invalid("at", "is required: an RFC 3339 time or an event sequence number")
        }
        try query.finish()
        guard let point = HistoryPoint(at) else {
            throw .invalid("at", "must be an RFC 3339 time or an event sequence number")
        }
        if point == .seq(0) { throw .invalid("at", "sequence numbers start at 1") }
        let ledger = self.ledger
        authorized(.readKeyHistory(id), context) { _ throws(APIError) in
            try Self.requireKey(ledger, id)
            let found: KeyState?
            let asOf: Int64
            do throws(LedgerError) {
                (found, asOf) = try ledger.state(of: id, at: point)
            } catch {
                throw APIError(error)
            }
            guard let state = found else { throw .notFound("key \(id) did not exist yet at \(at)") }
            return HTTPResponse(
                status: 200, headers: [("Content-Type", "application/json")],
                body: Envelope.data { KeyJSON.write(state, now: asOf, into: &$0) })
        }
    }
}
