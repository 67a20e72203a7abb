import Events
import Foundation
import Testing

/// A `ledger:keys` key cannot obtain, by any route, a right it lacks (API.md,
/// "Management credentials"): here, the secret of a key holding `ledger:audit`.
@Test func aKeysKeyCannotRotateOrReviveAKeyHoldingAScopeItLacks() throws {
    let f = try ServerFixture()
    let (_, admin) = try f.createKey(#"{"owner":"org_a","name":"admin","scopes":["ledger:keys"]}"#)
    let (auditor, _) = try f.createKey(#"{"owner":"org_a","name":"auditor","scopes":["ledger:audit"]}"#)
    let (plain, _) = try f.createKey(#"{"owner":"org_a","name":"plain"}"#)
    let c = try f.client()
    let mine = ["X-API-Key": admin]
    let before = f.eventCount
    let rotated = try c.call("POST", "/v1/keys/\(auditor)/rotate", json: "{}", headers: mine)
    #expect(rotated.status == 403 && rotated.errorCode == "FORBIDDEN")
    #expect(rotated.data["secret"] == nil && !String(decoding: rotated.body, as: UTF8.self).contains("secret\""))
    #expect(try c.call("PATCH", "/v1/keys/\(auditor)", json: #"{"name":"x"}"#, headers: mine).status == 403)
    #expect(try f.records(after: before) == ["key.accessed 403", "key.accessed 403"], "a refusal records only itself")
    // Taking away is no lending: it may suspend the key, but not bring it back.
    #expect(try c.call("POST", "/v1/keys/\(auditor)/suspend", headers: mine).status == 200)
    #expect(try c.call("POST", "/v1/keys/\(auditor)/reactivate", headers: mine).status == 403)
    let own = try c.call("POST", "/v1/keys/\(plain)/rotate", json: "{}", headers: mine)
    #expect(own.status == 200 && (own.data["secret"] as? String)?.hasPrefix("sk_live_") == true)
    #expect(try c.call("POST", "/v1/keys/\(auditor)/reactivate", headers: f.auth).status == 200)
}

/// Loosening a quota needs `ledger:quotas`; tightening needs only `ledger:keys`.
@Test func looseningQuotasNeedsTheQuotasScope() throws {
    let f = try ServerFixture()
    let (adminID, admin) = try f.createKey(
        #"{"owner":"org_a","name":"admin","scopes":["ledger:keys"],"rateLimits":[{"limit":100,"windowSeconds":60}]}"#)
    let (_, billing) = try f.createKey(#"{"owner":"org_a","name":"billing","scopes":["ledger:quotas"]}"#)
    let (_, both) = try f.createKey(#"{"owner":"org_a","name":"both","scopes":["ledger:keys","ledger:quotas"]}"#)
    let (child, _) = try f.createKey(
        #"{"owner":"org_a","name":"child","ttlSeconds":3600,"credits":5,"rateLimits":[{"limit":10,"windowSeconds":60}]}"#
    )
    let c = try f.client()
    let mine = ["X-API-Key": admin]
    let before = f.eventCount
    for (method, path, body) in [
        ("POST", "/v1/keys/\(child)/credits", #"{"add":1000000}"#),
        ("PATCH", "/v1/keys/\(child)", #"{"rateLimits":[]}"#),
        ("PATCH", "/v1/keys/\(child)", #"{"rateLimits":[{"limit":1000,"windowSeconds":60}]}"#),
        ("PATCH", "/v1/keys/\(child)", #"{"expiresAt":null}"#),
        ("PATCH", "/v1/keys/\(child)", #"{"expiresAt":"2099-01-01T00:00:00Z"}"#),
        ("PATCH", "/v1/keys/\(adminID)", #"{"rateLimits":[]}"#),
    ] {
        let r = try c.call(method, path, json: body, headers: mine)
        #expect(r.status == 403 && r.errorCode == "FORBIDDEN", "\(method) \(path) \(body)")
    }
    #expect(try f.records(after: before) == Array(repeating: "key.accessed 403", count: 6))
    let tighter = try c.call(
        "PATCH", "/v1/keys/\(child)", json: #"{"rateLimits":[{"limit":5,"windowSeconds":60}]}"#, headers: mine)
    #expect(tighter.status == 200 && (tighter.data["rateLimits"] as? [[String: Any]])?.first?["limit"] as? Int == 5)
    let credited = try c.call(
        "POST", "/v1/keys/\(child)/credits", json: #"{"add":10}"#, headers: ["X-API-Key": billing])
    #expect(credited.status == 200 && credited.data["credits"] as? Int == 15)
    let open = try c.call(
        "PATCH", "/v1/keys/\(child)", json: #"{"rateLimits":[],"expiresAt":null}"#, headers: ["X-API-Key": both])
    #expect(open.status == 200 && open.data["expiresAt"] is NSNull)
}

@Test func prefixesStartingWithKlAreReservedAndLedgerScopesAreKnown() throws {
    let f = try ServerFixture()
    let c = try f.client()
    for prefix in ["kl_root_", "kl_", "kl_live_"] {
        let r = try c.call(
            "POST", "/v1/keys", json: #"{"owner":"org_a","name":"x","prefix":"\#(prefix)"}"#, headers: f.auth)
        #expect(r.status == 400 && r.errorCode == "INVALID_REQUEST", "\(prefix)")
        #expect(String(decoding: r.body, as: UTF8.self).contains("reserved"))
    }
    #expect(
        try c.call("POST", "/v1/keys", json: #"{"owner":"org_a","name":"x","prefix":"klx_"}"#, headers: f.auth).status
            == 201)
    let unknown = try c.call(
        "POST", "/v1/keys", json: #"{"owner":"org_a","name":"x","scopes":["ledger:admin"]}"#, headers: f.auth)
    #expect(unknown.status == 400 && String(decoding: unknown.body, as: UTF8.self).contains("ledger:quotas"))
}

/// A passed expiry is final at once: no command brings the key back before the sweeper
/// records `key.expired` (the fixture runs no sweeper at all).
@Test func aPassedExpiryIsFinalForEveryCommandAtOnce() throws {
    let f = try ServerFixture()
    let (id, secret) = try f.createKey(#"{"owner":"org_a","name":"brief","ttlSeconds":1}"#)
    let c = try f.client()
    #expect(try c.call("POST", "/v1/keys/\(id)/suspend", headers: f.auth).status == 200)
    usleep(1_100_000)
    let before = f.eventCount
    for (method, path, body) in [
        ("PATCH", "/v1/keys/\(id)", #"{"expiresAt":"2099-01-01T00:00:00Z"}"#),
        ("PATCH", "/v1/keys/\(id)", #"{"expiresAt":null}"#),
        ("POST", "/v1/keys/\(id)/reactivate", nil),
        ("POST", "/v1/keys/\(id)/rotate", "{}"),
    ] {
        let r = try c.call(method, path, json: body, headers: f.auth)
        #expect(r.status == 409 && r.errorCode == "CONFLICT", "\(method) \(path)")
    }
    #expect(try f.records(after: before) == Array(repeating: "ledger.request 409", count: 4))
    #expect(try c.call("GET", "/v1/keys/\(id)", headers: f.auth).data["status"] as? String == "expired")
    let expired = try c.call("GET", "/v1/keys?status=expired", headers: f.auth).list.compactMap { $0["id"] as? String }
    let suspended = try c.call("GET", "/v1/keys?status=suspended", headers: f.auth).list
    #expect(expired == [id] && suspended.isEmpty)
    let verdict = try c.call("POST", "/v1/verify", json: #"{"key":"\#(secret)"}"#).data
    #expect(verdict["code"] as? String == "EXPIRED")
}

/// Routes for administrators only answer a ledger key through the same decision: 401
/// for a credential that is not a key, 403 for a good one, each recorded (but nothing
/// of `/metrics`).
@Test func administratorRoutesRefuseLedgerKeysThroughTheOneDecision() throws {
    let f = try ServerFixture()
    let (_, admin) = try f.createKey(
        #"{"owner":"org_a","name":"admin","scopes":["ledger:keys","ledger:audit","ledger:quotas"]}"#)
    let c = try f.client()
    let before = f.eventCount
    for path in ["/v1/events", "/v1/ledger/verify", "/metrics"] {
        #expect(try c.call("GET", path, headers: ["X-API-Key": admin]).status == 403, "\(path)")
        #expect(try c.call("GET", path, headers: ["X-API-Key": "sk_live_notakey"]).status == 401, "\(path)")
        #expect(try c.call("GET", path, headers: f.auth).status == 200, "\(path)")
    }
    let each = ["key.accessed 403", "auth.failed malformed", "ledger.request 200"]
    #expect(try f.records(after: before) == each + each)
    // A granted read records the key's use once, before the answer.
    let granted = f.eventCount
    #expect(try c.call("GET", "/v1/keys", headers: ["X-API-Key": admin]).status == 200)
    let last = try f.events(after: granted)
    #expect(last.map(\.type) == [.accessed])
    if case .accessed(let use) = last.first?.payload { #expect(use.endpoint == "GET /v1/keys" && use.status == 200) }
}
