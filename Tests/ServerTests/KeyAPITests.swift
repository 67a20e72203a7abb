import Foundation
import Testing

@Test func theWholeKeyLifecycleOverHTTP() throws {
    let f = try ServerFixture()
    let c = try f.client()
    let created = try c.call(
        "POST", "/v1/keys",
        json: """
            {"owner":"org_42","name":"CRM Sync","scopes":["accounts:read"],"credits":10,
             "rateLimits":[{"limit":100,"windowSeconds":900}],"metadata":{"team":"crm"},"ipAllowlist":["10.0.0.0/8"]}
            """, headers: f.auth)
    #expect(created.status == 201 && created.headers["etag"] == "\"1\"")
    #expect(created.headers["x-request-id"]?.hasPrefix("req_") == true)
    let key = created.data["key"] as? [String: Any] ?? [:]
    let id = key["id"] as? String ?? ""
    let secret = created.data["secret"] as? String ?? ""
    #expect(secret.hasPrefix("sk_live_") && secret.count == 8 + 43)
    #expect(key["status"] as? String == "active" && key["ipAllowlist"] as? [String] == ["10.0.0.0/8"])
    #expect(key["secret"] == nil)

    let got = try c.call("GET", "/v1/keys/\(id)", headers: f.auth)
    #expect(got.status == 200 && got.data["name"] as? String == "CRM Sync")
    let listed = try c.call("GET", "/v1/keys?owner=org_42&limit=10", headers: f.auth)
    #expect(listed.list.count == 1 && listed.json["nextCursor"] is NSNull)

    var headers = f.auth
    headers["If-Match"] = "\"1\""
    let patched = try c.call(
        "PATCH", "/v1/keys/\(id)", json: #"{"name":"Renamed","metadata":{"team":null,"tier":"gold"}}"#, headers: headers
    )
    #expect(patched.status == 200 && patched.data["version"] as? Int == 2)
    #expect(patched.data["metadata"] as? [String: String] == ["tier": "gold"])
    let stale = try c.call("PATCH", "/v1/keys/\(id)", json: #"{"name":"Again"}"#, headers: headers)
    #expect(stale.status == 409 && stale.errorCode == "CONFLICT")

    let rotated = try c.call("POST", "/v1/keys/\(id)/rotate", json: #"{"gracePeriodSeconds":3600}"#, headers: f.auth)
    #expect(rotated.status == 200)
    let newSecret = rotated.data["secret"] as? String ?? ""
    #expect(newSecret != secret && rotated.data["previousSecretExpiresAt"] is String)
    for s in [secret, newSecret] {
        let v = try c.call("POST", "/v1/verify", json: #"{"key":"\#(s)","ip":"10.1.1.1"}"#)
        #expect(v.data["code"] as? String == "VALID")
    }
    #expect(
        try c.call("POST", "/v1/keys/\(id)/suspend", json: #"{"reason":"audit"}"#, headers: f.auth).data["status"]
            as? String == "suspended")
    #expect(
        try c.call("POST", "/v1/verify", json: #"{"key":"\#(newSecret)","ip":"10.1.1.1"}"#).data["code"] as? String
            == "SUSPENDED")
    #expect(try c.call("POST", "/v1/keys/\(id)/reactivate", headers: f.auth).data["status"] as? String == "active")
    #expect(
        try c.call("POST", "/v1/keys/\(id)/credits", json: #"{"add":5}"#, headers: f.auth).data["credits"] as? Int == 13
    )
    let revoked = try c.call("DELETE", "/v1/keys/\(id)", json: #"{"reason":"leaked"}"#, headers: f.auth)
    #expect(revoked.status == 200 && revoked.json["message"] as? String == "API key revoked successfully")
    #expect(
        try c.call("POST", "/v1/verify", json: #"{"key":"\#(newSecret)","ip":"10.1.1.1"}"#).data["code"] as? String
            == "REVOKED")
    #expect(try c.call("DELETE", "/v1/keys/\(id)", headers: f.auth).status == 409)
}

@Test func everyVerifyCodeOverHTTP() throws {
    let f = try ServerFixture()
    let c = try f.client()
    let (_, secret) = try f.createKey(
        """
        {"owner":"org_1","name":"gw","scopes":["read"],"accounts":["acc_1"],"ipAllowlist":["203.0.113.0/24","2001:db8::/32"],
         "rateLimits":[{"limit":2,"windowSeconds":3600}],"credits":5}
        """)
    func verify(_ body: String) throws -> [String: Any] {
        let r = try c.call("POST", "/v1/verify", json: body)
        #expect(r.status == 200)
        return r.data
    }
    var v = try verify(#"{"key":"\#(secret)","scope":"read","account":"acc_1","ip":"203.0.113.9","cost":2}"#)
    #expect(v["valid"] as? Bool == true && v["code"] as? String == "VALID" && v["credits"] as? Int == 3)
    #expect((v["rateLimit"] as? [String: Any])?["remaining"] as? Int == 1)
    #expect(try verify(#"{"key":"\#(secret)","ip":"198.51.100.1"}"#)["code"] as? String == "IP_NOT_ALLOWED")
    #expect(try verify(#"{"key":"\#(secret)"}"#)["status"] as? Int == 403)
    #expect(
        try verify(#"{"key":"\#(secret)","scope":"write","ip":"2001:db8::1"}"#)["code"] as? String
            == "INSUFFICIENT_SCOPE")
    v = try verify(#"{"key":"\#(secret)","account":"acc_9","ip":"2001:db8::1"}"#)
    #expect(v["code"] as? String == "NOT_FOUND" && v["status"] as? Int == 404)
    #expect(try verify(#"{"key":"\#(secret)","ip":"203.0.113.9","cost":4}"#)["code"] as? String == "USAGE_EXCEEDED")
    _ = try verify(#"{"key":"\#(secret)","ip":"203.0.113.9"}"#)
    v = try verify(#"{"key":"\#(secret)","ip":"203.0.113.9"}"#)
    #expect(
        v["code"] as? String == "RATE_LIMITED" && v["status"] as? Int == 429
            && (v["retryAfterSeconds"] as? Int ?? 0) >= 1)
    v = try verify(#"{"key":"sk_live_notarealsecret"}"#)
    #expect(v["code"] as? String == "NOT_FOUND" && v["status"] as? Int == 401 && v["keyId"] == nil)
    let (expiringID, expiring) = try f.createKey(
        #"{"owner":"org_1","name":"short","expiresAt":"2099-01-01T00:00:00Z"}"#)
    _ = expiringID
    #expect(try verify(#"{"key":"\#(expiring)"}"#)["code"] as? String == "VALID")
}

/// A failed request changes no key: it leaves only its own audit record (API.md "Audit
/// completeness"), and bad input (400, 405, 413) leaves nothing at all.
@Test func aRequestThatFailsLeavesOnlyItsRecord() throws {
    let f = try ServerFixture()
    let (id, _) = try f.createKey()
    let c = try f.client()
    let before = f.eventCount
    let cases: [(String, String, String?, [String: String], Int, String)] = [
        ("POST", "/v1/keys", #"{"owner":"org_42","name":"x","bogus":1}"#, f.auth, 400, "INVALID_REQUEST"),
        ("POST", "/v1/keys", #"{"owner":"org_42","name":"x""#, f.auth, 400, "INVALID_REQUEST"),
        ("POST", "/v1/keys", #"{"owner":"","name":"x"}"#, f.auth, 400, "INVALID_REQUEST"),
        ("POST", "/v1/keys", #"{"owner":"org_42","name":"x","prefix":"Bad"}"#, f.auth, 400, "INVALID_REQUEST"),
        (
            "POST", "/v1/keys", #"{"owner":"org_42","name":"x","rateLimits":[{"limit":-1,"windowSeconds":5}]}"#, f.auth,
            400, "INVALID_REQUEST"
        ),
        ("POST", "/v1/keys", #"{"owner":"org_42","name":"x"}"#, [:], 401, "UNAUTHORIZED"),
        (
            "POST", "/v1/keys", #"{"owner":"org_42","name":"x"}"#, ["Authorization": "Bearer kl_root_wrong"], 401,
            "UNAUTHORIZED"
        ),
        ("POST", "/v1/keys/\(id)/rotate", #"{"gracePeriodSeconds":604801}"#, f.auth, 400, "INVALID_REQUEST"),
        ("POST", "/v1/keys/key_0000000000000000000000/suspend", nil, f.auth, 404, "NOT_FOUND"),
        ("POST", "/v1/keys/\(id)/reactivate", nil, f.auth, 409, "CONFLICT"),
        ("PUT", "/v1/keys/\(id)", nil, f.auth, 405, "METHOD_NOT_ALLOWED"),
        ("GET", "/v1/keys?limit=0", nil, f.auth, 400, "INVALID_REQUEST"),
        ("GET", "/v1/keys?colour=red", nil, f.auth, 400, "INVALID_REQUEST"),
        ("POST", "/v1/verify", #"{"key":5}"#, [:], 400, "INVALID_REQUEST"),
        ("GET", "/nowhere", nil, [:], 404, "NOT_FOUND"),
    ]
    for (method, path, body, headers, status, code) in cases {
        let r = try c.call(method, path, json: body, headers: headers)
        #expect(r.status == status, "\(method) \(path)")
        #expect(r.errorCode == code, "\(method) \(path)")
        #expect(!(String(decoding: r.body, as: UTF8.self).contains(f.root)))
    }
    let big = try f.client()
    big.send(
        Array(
            "POST /v1/keys HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(f.root)\r\nContent-Length: 10000000\r\n\r\n"
                .utf8))
    let tooLarge = try big.read()
    #expect(tooLarge.status == 413 && tooLarge.errorCode == "PAYLOAD_TOO_LARGE")
    #expect(
        try f.records(after: before) == [
            "auth.failed missing", "auth.failed malformed", "ledger.request 404", "ledger.request 409",
        ])
}

@Test func managementKeysActForTheirOwnerAndTheirUseIsRecorded() throws {
    let f = try ServerFixture()
    let (_, admin) = try f.createKey(#"{"owner":"org_a","name":"admin","scopes":["ledger:keys"]}"#)
    let (foreignID, _) = try f.createKey(#"{"owner":"org_b","name":"other"}"#)
    let c = try f.client()
    let mine = ["X-API-Key": admin]
    let before = f.eventCount
    let created = try c.call("POST", "/v1/keys", json: #"{"owner":"org_a","name":"child"}"#, headers: mine)
    #expect(created.status == 201)
    #expect(f.eventCount == before + 2)
    let events = try c.call("GET", "/v1/events?after=\(before)", headers: f.auth).list
    #expect(events.map { $0["type"] as? String } == ["key.accessed", "key.created"])
    #expect((events[1]["actor"] as? [String: Any])?["type"] as? String == "key")
    let after = f.eventCount
    #expect(try c.call("POST", "/v1/keys", json: #"{"owner":"org_b","name":"x"}"#, headers: mine).status == 403)
    #expect(try c.call("GET", "/v1/keys/\(foreignID)", headers: mine).status == 403)
    #expect(
        try c.call("POST", "/v1/keys", json: #"{"owner":"org_a","name":"x","scopes":["ledger:audit"]}"#, headers: mine)
            .status == 403)
    #expect(try c.call("GET", "/v1/events", headers: mine).status == 403)
    #expect(try f.records(after: after) == Array(repeating: "key.accessed 403", count: 4))
    let refused = f.eventCount
    let list = try c.call("GET", "/v1/keys", headers: mine)
    #expect(list.status == 200 && list.list.allSatisfy { $0["owner"] as? String == "org_a" } && list.list.count == 2)
    #expect(try f.records(after: refused) == ["key.accessed 200"])
}

@Test func theUnixSocketIsLocalAdministration() throws {
    let f = try ServerFixture()
    var st = stat()
    #expect(stat(f.socketPath, &st) == 0 && st.st_mode & 0o777 == 0o600)
    let c = try RawClient(unixPath: f.socketPath)
    let created = try c.call("POST", "/v1/keys", json: #"{"owner":"org_1","name":"local"}"#)
    #expect(created.status == 201)
    let seq = try #require(created.headers["x-ledger-seq"])
    let event = try c.call("GET", "/v1/events?minSeq=\(seq)", headers: [:]).list.first
    let actor = event?["actor"] as? [String: Any]
    #expect(actor?["type"] as? String == "socket" && (actor?["id"] as? String)?.hasPrefix("uid:") == true)
    #expect(try c.call("GET", "/v1/ledger/verify").data["ok"] as? Bool == true)
}

@Test func pipelinedRequestsAreAnsweredInOrderOnOneConnection() throws {
    let f = try ServerFixture()
    let (_, secret) = try f.createKey()
    let c = try f.client()
    var batch: [UInt8] = []
    for i in 0..<20 {
        let body = i % 2 == 0 ? #"{"key":"\#(secret)"}"# : #"{"key":"\#(secret)","scope":"nope"}"#
        batch += RawClient.request("POST", "/v1/verify", json: body, headers: ["X-Request-Id": "pipe-\(i)"])
    }
    c.send(batch)
    for i in 0..<20 {
        let r = try c.read()
        #expect(r.headers["x-request-id"] == "pipe-\(i)")
        #expect(r.data["code"] as? String == (i % 2 == 0 ? "VALID" : "INSUFFICIENT_SCOPE"))
    }
    #expect(try c.call("GET", "/healthz").json["status"] as? String == "ok")
}
