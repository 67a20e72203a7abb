import Events
import Ledger
import Testing

extension ServerFixture {
    /// The events appended after `seq`, oldest first.
    func events(after seq: UInt64) throws -> [Event] {
        let head = eventCount
        guard head > seq else { return [] }
        // Every seq up to the head is in the log: a gap is a failure, not a shorter list.
        return try (seq + 1...head).map { try #require(try ledger.event(at: $0), "seq \($0) missing").event }
    }

    /// What the events after `seq` are: their type, and the HTTP status an audit record carries.
    func records(after seq: UInt64) throws -> [String] {
        try events(after: seq).map { event in
            switch event.payload {
            case .accessed(let a): "\(event.type.wireName) \(a.status.map(String.init) ?? "-")"
            case .request(let r): "\(event.type.wireName) \(r.status)"
            case .authFailed(let f): "\(event.type.wireName) \(f.reason?.wireName ?? "-")"
            default: event.type.wireName
            }
        }
    }
}

extension ServerFixture {
    /// A client connecting from another loopback address.
    func client(from source: String) throws -> RawClient { try RawClient(port: port, from: source) }
}

/// An audit record of `/v1/audit` as "type actor route status-or-reason", e.g.
/// `key.accessed key_... GET /v1/keys/{id} 200` or `auth.failed unauthenticated GET /v1/audit missing`.
func describeRecord(_ e: [String: Any]) -> String {
    let data = e["data"] as? [String: Any] ?? [:]
    let actor = (e["actor"] as? [String: Any])?["id"] as? String ?? "?"
    let route: String
    let outcome: String
    switch e["type"] as? String {
    case "key.accessed":
        route = data["endpoint"] as? String ?? "?"
        outcome = "\(data["status"] as? Int ?? 0)"
    case "ledger.request":
        route = "\(data["method"] as? String ?? "?") \(data["route"] as? String ?? "?")"
        outcome = "\(data["status"] as? Int ?? 0)"
    case "auth.failed":
        route = "\(data["method"] as? String ?? "?") \(data["route"] as? String ?? "?")"
        outcome = data["reason"] as? String ?? "?"
    default:
        return e["type"] as? String ?? "?"
    }
    return "\(e["type"] as? String ?? "?") \(actor) \(route) \(outcome)"
}

/// The records `GET /v1/audit` (as `auth`, the root token) lists after `seq`, oldest first,
/// as ``describeRecord(_:)`` writes them; without the records of these reads of the trail
/// themselves (a coalesced count may be appended at any time).
func auditTrail(_ client: RawClient, auth: [String: String], after seq: UInt64) throws -> [String] {
    let page = try client.call("GET", "/v1/audit?limit=1000", headers: auth)
    #expect(page.status == 200)
    return page.list.filter { ($0["seq"] as? Int ?? 0) > Int(seq) }.reversed().map(describeRecord)
        .filter { $0 != "ledger.request root GET /v1/audit 200" }
}
