import Events
import Foundation
import Ledger
import Testing

/// API.md "Audit completeness": every management request of a session of mixed calls
/// (root reads, key reads, refused writes, wrong tokens, the socket) is in `/v1/audit`
/// with its actor, address, route and status; `/metrics`, `/healthz` and the console's
/// files leave nothing.
@Test func everyManagementRequestOfAMixedSessionIsInTheAuditTrail() throws {
    let f = try ServerFixture()
    let (plain, _) = try f.createKey(#"{"owner":"org_a","name":"plain"}"#)
    let (foreign, _) = try f.createKey(#"{"owner":"org_b","name":"foreign"}"#)
    let (adminID, admin) = try f.createKey(#"{"owner":"org_a","name":"admin","scopes":["ledger:keys"]}"#)
    let (auditorID, auditor) = try f.createKey(#"{"owner":"org_a","name":"auditor","scopes":["ledger:audit"]}"#)
    let (revokedID, revoked) = try f.createKey(#"{"owner":"org_a","name":"gone","scopes":["ledger:keys"]}"#)
    let c = try f.client()
    #expect(try c.call("DELETE", "/v1/keys/\(revokedID)", headers: f.auth).status == 200)
    let unknown = Ledger.mintSecret(prefix: "sk_live_").secret
    let missingKey = "key_0000000000000000000001"
    let before = f.eventCount

    // (method, path, headers, body, status, expected record: "type actor route status-or-reason")
    let session: [(String, String, [String: String], String?, Int, String)] = [
        ("GET", "/v1/keys/\(plain)", f.auth, nil, 200, "ledger.request root GET /v1/keys/{id} 200"),
        ("GET", "/v1/audit", f.auth, nil, 200, "ledger.request root GET /v1/audit 200"),
        (
            "POST", "/v1/keys/\(plain)/reactivate", f.auth, nil, 409,
            "ledger.request root POST /v1/keys/{id}/reactivate 409"
        ),
        ("GET", "/v1/keys/\(missingKey)", f.auth, nil, 404, "ledger.request root GET /v1/keys/{id} 404"),
        ("GET", "/v1/keys/\(plain)", ["X-API-Key": admin], nil, 200, "key.accessed \(adminID) GET /v1/keys/{id} 200"),
        ("GET", "/v1/keys/\(foreign)", ["X-API-Key": admin], nil, 403, "key.accessed \(adminID) GET /v1/keys/{id} 403"),
        (
            "POST", "/v1/keys/\(plain)/reactivate", ["X-API-Key": admin], nil, 409,
            "key.accessed \(adminID) POST /v1/keys/{id}/reactivate 409"
        ),
        (
            "GET", "/v1/keys/\(plain)/logs", ["X-API-Key": auditor], nil, 200,
            "key.accessed \(auditorID) GET /v1/keys/{id}/logs 200"
        ),
        // Granted, then answered 404 by the read itself (the key did not exist yet at seq 1).
        (
            "GET", "/v1/keys/\(auditorID)/state?at=1", ["X-API-Key": auditor], nil, 404,
            "key.accessed \(auditorID) GET /v1/keys/{id}/state 404"
        ),
        (
            "POST", "/v1/keys", ["X-API-Key": auditor], #"{"owner":"org_a","name":"x"}"#, 403,
            "key.accessed \(auditorID) POST /v1/keys 403"
        ),
        ("GET", "/v1/audit", [:], nil, 401, "auth.failed unauthenticated GET /v1/audit missing"),
        (
            "GET", "/v1/audit", ["Authorization": "Bearer not-a-ledger-secret"], nil, 401,
            "auth.failed unauthenticated GET /v1/audit malformed"
        ),
        ("GET", "/v1/keys", ["X-API-Key": unknown], nil, 401, "auth.failed unauthenticated GET /v1/keys unknown"),
        (
            "PATCH", "/v1/keys/\(plain)", ["X-API-Key": revoked], #"{"name":"y"}"#, 401,
            "auth.failed unauthenticated PATCH /v1/keys/{id} revoked"
        ),
    ]
    for (method, path, headers, body, status, _) in session {
        #expect(try c.call(method, path, json: body, headers: headers).status == status, "\(method) \(path)")
    }
    let socket = try RawClient(unixPath: f.socketPath)
    #expect(try socket.call("GET", "/v1/keys").status == 200)
    // None of these is a management request.
    let quiet = f.eventCount
    #expect(try c.call("GET", "/metrics", headers: f.auth).status == 200)
    #expect(try c.call("GET", "/metrics").status == 401)
    #expect(try c.call("GET", "/healthz").status == 200)
    #expect(try c.call("GET", "/console").status == 200)
    #expect(try socket.call("GET", "/metrics").status == 200)
    #expect(f.eventCount == quiet, "/metrics, /healthz and the console leave nothing")

    let trail = try c.call("GET", "/v1/audit?limit=1000", headers: f.auth).list.filter {
        ($0["seq"] as? Int ?? 0) > Int(before)
    }
    let uid = getuid()
    #expect(
        trail.reversed().map(describeRecord)
            == session.map(\.5) + ["ledger.request uid:\(uid) GET /v1/keys 200"])
    let tcp = trail.filter { ($0["actor"] as? [String: Any])?["type"] as? String != "socket" }
    #expect(tcp.allSatisfy { $0["ip"] as? String == "127.0.0.1" && $0["requestId"] is String })
    // The revoked key is named, never its secret; refused key requests name their target.
    let gone = trail.first { ($0["data"] as? [String: Any])?["reason"] as? String == "revoked" }
    #expect((gone?["data"] as? [String: Any])?["keyId"] as? String == revokedID)
    let notFound = trail.first {
        $0["type"] as? String == "ledger.request" && ($0["data"] as? [String: Any])?["status"] as? Int == 404
    }
    #expect((notFound?["data"] as? [String: Any])?["keyId"] as? String == missingKey)
    // Nothing but the records: no key changed.
    #expect(try c.call("GET", "/v1/keys/\(plain)", headers: f.auth).data["version"] as? Int == 1)
}

/// "Who read the audit trail last month" is one query (`route`, with the window), and
/// so is "which addresses failed to log in" (`eventTypes=auth.failed`).
@Test func whoReadTheAuditTrailAndWhichAddressesFailedToLogInAreOneQueryEach() throws {
    let f = try ServerFixture()
    let (auditorID, auditor) = try f.createKey(#"{"owner":"org_a","name":"auditor","scopes":["ledger:audit"]}"#)
    _ = try f.client().call("GET", "/v1/audit", headers: f.auth)
    _ = try f.client(from: "127.0.0.2").call("GET", "/v1/audit?owner=org_a", headers: ["X-API-Key": auditor])
    _ = try f.client().call("GET", "/v1/audit/export", headers: f.auth)
    _ = try f.client().call("GET", "/v1/keys", headers: f.auth)
    for (source, credential) in [("127.0.0.3", "wrong"), ("127.0.0.4", "sk_live_bad"), ("127.0.0.3", "")] {
        let headers = credential.isEmpty ? [:] : ["X-API-Key": credential]
        #expect(try f.client(from: source).call("GET", "/v1/keys", headers: headers).status == 401)
    }
    let iso = ISO8601DateFormatter()
    let start = iso.string(from: Date().addingTimeInterval(-30 * 86400))
    let end = iso.string(from: Date().addingTimeInterval(60))
    let c = try f.client()

    let readers = try c.call(
        "GET",
        "/v1/audit?route=/v1/audit,/v1/audit/export&eventTypes=ledger.request,key.accessed&start=\(start)&end=\(end)",
        headers: f.auth)
    #expect(readers.status == 200)
    let who = readers.list.reversed().map { e -> String in
        let actor = e["actor"] as? [String: Any] ?? [:]
        let data = e["data"] as? [String: Any] ?? [:]
        let route = data["route"] as? String ?? data["endpoint"] as? String ?? "?"
        return "\(actor["id"] as? String ?? "?") \(e["ip"] as? String ?? "-") \(route)"
    }
    #expect(
        who == ["root 127.0.0.1 /v1/audit", "\(auditorID) 127.0.0.2 GET /v1/audit", "root 127.0.0.1 /v1/audit/export"])

    let failed = try c.call("GET", "/v1/audit?eventTypes=auth.failed&start=\(start)&end=\(end)", headers: f.auth)
    #expect(Set(failed.list.compactMap { $0["ip"] as? String }) == ["127.0.0.3", "127.0.0.4"])
    #expect(failed.list.count == 3)
    // The window bounds it: nothing failed a month before.
    let earlier = iso.string(from: Date().addingTimeInterval(-60 * 86400))
    let old = try c.call("GET", "/v1/audit?eventTypes=auth.failed&start=\(earlier)&end=\(start)", headers: f.auth)
    #expect(old.status == 200 && old.list.isEmpty)
    #expect(try c.call("GET", "/v1/audit?route=v1/audit", headers: f.auth).status == 400)
}

/// At most 60 `auth.failed` per client address and minute; the rest are counted, and
/// the count reaches the log when the ledger closes (no failure goes uncounted).
@Test func failedLoginsAreBoundedPerAddressAndTheRestCounted() throws {
    let f = try ServerFixture()
    let flood = try f.client(from: "127.0.0.5")
    let before = f.eventCount
    for _ in 0..<75 { #expect(try flood.call("GET", "/v1/keys", headers: ["X-API-Key": "nope"]).status == 401) }
    #expect(try f.client(from: "127.0.0.6").call("GET", "/v1/audit").status == 401)
    let records = try f.events(after: before)
    #expect(records.filter { $0.ip == IPAddress("127.0.0.5") }.count == 60)
    #expect(records.filter { $0.ip == IPAddress("127.0.0.6") }.count == 1)
    #expect(records.allSatisfy { $0.type == .authFailed })
    f.close()
    let reopened = try Ledger.openReadOnly(path: f.directory)
    defer { reopened.close() }
    let head = try reopened.head().seq
    let summary = try #require(try reopened.event(at: head)).event
    guard case .authFailed(let rest) = summary.payload else {
        Issue.record("no summary at close")
        return
    }
    #expect(rest == AuthFailed(method: "GET", route: "/v1/keys", reason: .malformed, count: 15))
    #expect(summary.ip == IPAddress("127.0.0.5") && head == before + 62)
}

/// No credential text reaches the log or a projection: every secret, the root token and
/// every wrong token of a session is absent from the LMDB file's bytes.
@Test func noCredentialTextIsAnywhereInTheLedgerFile() throws {
    let f = try ServerFixture()
    let (id, secret) = try f.createKey(#"{"owner":"org_a","name":"admin","scopes":["ledger:keys","ledger:audit"]}"#)
    let c = try f.client()
    let rotated = try c.call("POST", "/v1/keys/\(id)/rotate", json: #"{"gracePeriodSeconds":60}"#, headers: f.auth)
    let newSecret = rotated.data["secret"] as? String ?? ""
    let wrong = [
        Ledger.mintSecret(prefix: "sk_live_").secret, "kl_root_" + String(repeating: "x", count: 40), "hunter2-guess",
    ]
    for credential in [secret, newSecret] + wrong {
        _ = try c.call("GET", "/v1/audit", headers: ["X-API-Key": credential])
        _ = try c.call("GET", "/v1/keys", headers: ["Authorization": "Bearer \(credential)"])
    }
    _ = try c.call("GET", "/v1/keys", headers: f.auth)
    _ = try c.call("POST", "/v1/verify", json: #"{"key":"\#(secret)"}"#)
    #expect(f.eventCount > 10)
    let file = try Data(contentsOf: URL(fileURLWithPath: f.directory + "/data.mdb"))
    for credential in [secret, newSecret, f.root] + wrong {
        #expect(file.range(of: Data(credential.utf8)) == nil, "\(credential.prefix(8))…")
    }
}

/// Fail closed: a request whose record cannot be appended is answered 503, and its read
/// shows nothing.
@Test func aRequestWhoseRecordCannotBeAppendedIs503() throws {
    let f = try ServerFixture()
    let (id, _) = try f.createKey()
    let c = try f.client()
    #expect(try c.call("GET", "/v1/keys/\(id)", headers: f.auth).status == 200)
    f.closeLedger()
    let read = try c.call("GET", "/v1/keys/\(id)/logs", headers: f.auth)
    #expect(read.status == 503 && read.errorCode == "UNAVAILABLE" && read.list.isEmpty)
    let refused = try c.call("GET", "/v1/audit", headers: ["X-API-Key": "wrong"])
    #expect(refused.status == 503 && refused.errorCode == "UNAVAILABLE")
}

/// A read recorded before its answer still answers the seq it read (`X-Ledger-Seq`), not
/// its own record's: the record is a later event than anything the read saw.
@Test func aRecordedReadAnswersTheSeqItRead() throws {
    let f = try ServerFixture()
    let (id, _) = try f.createKey()
    let before = f.eventCount
    let read = try f.client().call("GET", "/v1/keys/\(id)", headers: f.auth)
    #expect(read.status == 200 && f.eventCount == before + 1, "the read's record follows it")
    #expect(read.headers["x-ledger-seq"] == "\(before)")
}
