import Foundation
import Notify
import Testing

private func bearer(_ secret: String) -> [String: String] { ["Authorization": "Bearer \(secret)"] }

/// Every webhook route, for its owner's `ledger:webhooks` key (allowed), another
/// owner's (403), a key without the scope (403) and no credential (401).
@Test func everyWebhookRouteIsAuthorized() throws {
    let f = try ServerFixture()
    let own = try f.createKey(#"{"owner":"org_a","name":"hooks","scopes":["ledger:webhooks"]}"#).secret
    let foreign = try f.createKey(#"{"owner":"org_b","name":"hooks","scopes":["ledger:webhooks"]}"#).secret
    let keysOnly = try f.createKey(#"{"owner":"org_a","name":"keys","scopes":["ledger:keys"]}"#).secret
    let body = #"{"url":"https://hooks.example.com/a","eventTypes":["key.created"]}"#
    let created = try f.client().call("POST", "/v1/webhooks", json: body, headers: bearer(own))
    #expect(created.status == 201)
    let hook = created.data["webhook"] as? [String: Any] ?? [:]
    let id = hook["id"] as? String ?? ""
    #expect(hook["owner"] as? String == "org_a")
    #expect((created.data["secret"] as? String)?.hasPrefix("whsec_") == true)
    let routes: [(String, String, String?, Int)] = [
        ("GET", "/v1/webhooks", nil, 200),
        ("GET", "/v1/webhooks/\(id)", nil, 200),
        ("PATCH", "/v1/webhooks/\(id)", #"{"description":"crm"}"#, 200),
        ("POST", "/v1/webhooks/\(id)/rotate-secret", nil, 200),
        ("GET", "/v1/webhooks/\(id)/deliveries", nil, 200),
        ("POST", "/v1/webhooks/\(id)/redeliver", #"{"after":0}"#, 202),
        ("POST", "/v1/webhooks", body, 201),
        ("DELETE", "/v1/webhooks/\(id)", nil, 200),
    ]
    for (method, path, json, expected) in routes {
        for (who, credential) in [("foreign", foreign), ("keys only", keysOnly)] {
            let refused = try f.client().call(method, path, json: json, headers: bearer(credential))
            // Another owner's key may list its own (empty) page and create its own webhook.
            let allowed = who == "foreign" && (path == "/v1/webhooks")
            #expect(allowed || refused.status == 403, "\(who) \(method) \(path): \(refused.status)")
        }
        let anonymous = try f.client().call(method, path, json: json)
        #expect(anonymous.status == 401, "anonymous \(method) \(path)")
        let response = try f.client().call(method, path, json: json, headers: bearer(own))
        #expect(
            response.status == expected,
            "\(method) \(path): \(response.status) \(String(decoding: response.body, as: UTF8.self))")
    }
    // The foreign key's list shows none of org_a's webhooks.
    let list = try f.client().call("GET", "/v1/webhooks", headers: bearer(foreign)).list
    #expect(list.allSatisfy { $0["owner"] as? String == "org_b" })
    #expect(try f.client().call("GET", "/v1/webhooks?owner=org_a", headers: bearer(foreign)).status == 403)
}

/// The secret is shown at create and at rotate only, differs after a rotation, and
/// nothing else ever shows it.
@Test func webhookSecretsAreShownOnceAndRotate() throws {
    let f = try ServerFixture()
    let created = try f.client().call(
        "POST", "/v1/webhooks", json: #"{"url":"https://hooks.example.com/a","eventTypes":["*"],"owner":"org_1"}"#,
        headers: f.auth)
    let id = (created.data["webhook"] as? [String: Any])?["id"] as? String ?? ""
    let first = created.data["secret"] as? String ?? ""
    let rotated = try f.client().call("POST", "/v1/webhooks/\(id)/rotate-secret", headers: f.auth)
    let second = rotated.data["secret"] as? String ?? ""
    #expect(first.hasPrefix("whsec_") && second.hasPrefix("whsec_") && first != second)
    #expect((rotated.data["webhook"] as? [String: Any])?["secretVersion"] as? Int == 2)
    for path in ["/v1/webhooks/\(id)", "/v1/webhooks", "/v1/events"] {
        let text = String(decoding: try f.client().call("GET", path, headers: f.auth).body, as: UTF8.self)
        #expect(!text.contains(first.dropFirst(6)) && !text.contains(second.dropFirst(6)), "\(path)")
    }
    let bad = try f.client().call(
        "POST", "/v1/webhooks", json: #"{"url":"https://h/","eventTypes":["*"],"secret":"x"}"#, headers: f.auth)
    #expect(bad.status == 400 && bad.errorCode == "INVALID_REQUEST")
    #expect(try f.client().call("GET", "/v1/webhooks/wh_0000000000000000000000", headers: f.auth).status == 404)
}

@Test func keysListByExpirySoonestFirst() throws {
    let f = try ServerFixture()
    _ = try f.createKey(#"{"owner":"org_1","name":"late","expiresAt":"2099-01-03T00:00:00Z"}"#)
    _ = try f.createKey(#"{"owner":"org_1","name":"never"}"#)
    _ = try f.createKey(#"{"owner":"org_1","name":"soon","expiresAt":"2099-01-01T00:00:00Z"}"#)
    _ = try f.createKey(#"{"owner":"org_1","name":"mid","expiresAt":"2099-01-02T00:00:00Z"}"#)
    let sorted = try f.client().call("GET", "/v1/keys?sort=expiresAt", headers: f.auth).list.map {
        $0["name"] as? String
    }
    #expect(sorted == ["soon", "mid", "late"])
    let before = try f.client().call("GET", "/v1/keys?expiresBefore=2099-01-02T12:00:00Z&limit=1", headers: f.auth)
    #expect(before.list.map { $0["name"] as? String } == ["soon"])
    let cursor = before.json["nextCursor"] as? String ?? ""
    let next = try f.client().call(
        "GET", "/v1/keys?expiresBefore=2099-01-02T12:00:00Z&cursor=\(cursor)", headers: f.auth)
    #expect(next.list.map { $0["name"] as? String } == ["mid"])
    #expect(next.json["nextCursor"] is NSNull)
    #expect(try f.client().call("GET", "/v1/keys?sort=name", headers: f.auth).status == 400)
}
