import Foundation
import Testing

/// How a ledger key that made a key with an `Idempotency-Key` loses the right to its
/// answer, done by the root token between the request and its retry.
struct LostRight: CustomStringConvertible, Sendable {
    let name: String
    let method: String
    /// `{manager}` is the credential's id, `{made}` the created key's.
    let path: String
    let body: String?
    /// The retry's answer.
    let status: Int
    /// The refusal's record, as ``describeRecord(_:)`` writes it (`{manager}` replaced).
    let record: String

    var description: String { name }
}

let lostRights = [
    LostRight(
        name: "credential revoked", method: "DELETE", path: "/v1/keys/{manager}", body: nil, status: 401,
        record: "auth.failed unauthenticated POST /v1/keys revoked"),
    LostRight(
        name: "credential suspended", method: "POST", path: "/v1/keys/{manager}/suspend", body: nil, status: 401,
        record: "auth.failed unauthenticated POST /v1/keys suspended"),
    LostRight(
        name: "credential loses ledger:keys", method: "PATCH", path: "/v1/keys/{manager}", body: #"{"scopes":[]}"#,
        status: 403, record: "key.accessed {manager} POST /v1/keys 403"),
    LostRight(
        name: "credential outside its allowlist", method: "PATCH", path: "/v1/keys/{manager}",
        body: #"{"ipAllowlist":["10.0.0.0/8"]}"#, status: 403, record: "key.accessed {manager} POST /v1/keys 403"),
    // Its secret would hand on a scope the credential lacks: a read of the key would pass, a rotation not.
    LostRight(
        name: "made key gains a scope the credential lacks", method: "PATCH", path: "/v1/keys/{made}",
        body: #"{"scopes":["ledger:audit"]}"#, status: 403, record: "key.accessed {manager} POST /v1/keys 403"),
]

/// A ledger key's retry of a create is replayed (and recorded) while the key may still
/// rotate what it made; once it may not, the retry is that refusal, carries nothing of
/// the first answer, and is in the audit trail like any refusal.
@Test(arguments: lostRights)
func aLedgerKeysReplayIsDecidedAgain(_ lost: LostRight) throws {
    let s = try RestartableServer()
    let (managerID, managerSecret) = try createManager(s)
    let headers = ["Authorization": "Bearer \(managerSecret)", "Idempotency-Key": "make-one"]
    let body = #"{"owner":"org_42","name":"Made"}"#
    let first = try s.client().call("POST", "/v1/keys", json: body, headers: headers)
    #expect(first.status == 201)
    let made = (first.data["key"] as? [String: Any])?["id"] as? String ?? "?"
    let secret = try #require(first.data["secret"] as? String)

    var mark = s.eventCount
    let replayed = try s.client().call("POST", "/v1/keys", json: body, headers: headers)
    #expect(replayed.status == 201 && replayed.body == first.body)
    #expect(replayed.headers["idempotent-replayed"] == "true")
    // The same Idempotency-Key with another body is a conflict, recorded as the replay would be.
    let other = try s.client().call("POST", "/v1/keys", json: #"{"owner":"org_42","name":"Other"}"#, headers: headers)
    #expect(other.status == 409 && other.errorCode == "CONFLICT")
    #expect(
        try auditTrail(s.client(), auth: s.auth, after: mark) == [
            "key.accessed \(managerID) POST /v1/keys 201", "key.accessed \(managerID) POST /v1/keys 409",
        ])

    let path = lost.path.replacingOccurrences(of: "{manager}", with: managerID)
        .replacingOccurrences(of: "{made}", with: made)
    #expect(try s.client().call(lost.method, path, json: lost.body, headers: s.auth).status == 200)
    mark = s.eventCount
    let refused = try s.client().call("POST", "/v1/keys", json: body, headers: headers)
    #expect(refused.status == lost.status)
    // The refusal's envelope only (its message may name the key asked about).
    #expect(refused.headers["idempotent-replayed"] == nil && refused.json["data"] == nil)
    #expect(refused.errorCode != nil && !String(decoding: refused.body, as: UTF8.self).contains(secret))
    let record = lost.record.replacingOccurrences(of: "{manager}", with: managerID)
    #expect(try auditTrail(s.client(), auth: s.auth, after: mark) == [record])
}

/// A self-rotation's retry presents the old secret: it gets the new one only while the
/// old one still works (its grace period) and the key may still rotate itself.
@Test func aSelfRotationsReplayNeedsTheOldSecretStillUsable() throws {
    let s = try RestartableServer()
    let created = try s.client().call(
        "POST", "/v1/keys", json: #"{"owner":"org_42","name":"Self","selfRotate":true}"#, headers: s.auth)
    let id = (created.data["key"] as? [String: Any])?["id"] as? String ?? "?"
    let old = try #require(created.data["secret"] as? String)
    let headers = ["Authorization": "Bearer \(old)", "Idempotency-Key": "rotate-me"]

    // No grace period: the old secret stops working at once, and so does its retry.
    let first = try s.client().call("POST", "/v1/keys/self/rotate", headers: headers)
    #expect(first.status == 200)
    let new = try #require(first.data["secret"] as? String)
    var mark = s.eventCount
    let refused = try s.client().call("POST", "/v1/keys/self/rotate", headers: headers)
    #expect(refused.status == 401 && refused.headers["idempotent-replayed"] == nil)
    #expect(!String(decoding: refused.body, as: UTF8.self).contains(new))
    #expect(
        try auditTrail(s.client(), auth: s.auth, after: mark) == [
            "auth.failed unauthenticated POST /v1/keys/self/rotate expired"
        ])

    // Within the grace period the retry gets the new secret again, until selfRotate is taken away.
    let graced = ["Authorization": "Bearer \(new)", "Idempotency-Key": "rotate-me-gently"]
    let body = #"{"gracePeriodSeconds":600}"#
    let second = try s.client().call("POST", "/v1/keys/self/rotate", json: body, headers: graced)
    #expect(second.status == 200)
    let newer = try #require(second.data["secret"] as? String)
    mark = s.eventCount
    let replayed = try s.client().call("POST", "/v1/keys/self/rotate", json: body, headers: graced)
    #expect(replayed.status == 200 && replayed.body == second.body)
    #expect(replayed.headers["idempotent-replayed"] == "true")
    #expect(
        try auditTrail(s.client(), auth: s.auth, after: mark) == ["key.accessed \(id) POST /v1/keys/self/rotate 200"])
    let patch = try s.client().call("PATCH", "/v1/keys/\(id)", json: #"{"selfRotate":false}"#, headers: s.auth)
    #expect(patch.status == 200)
    mark = s.eventCount
    let forbidden = try s.client().call("POST", "/v1/keys/self/rotate", json: body, headers: graced)
    #expect(forbidden.status == 403 && !String(decoding: forbidden.body, as: UTF8.self).contains(newer))
    #expect(
        try auditTrail(s.client(), auth: s.auth, after: mark) == ["key.accessed \(id) POST /v1/keys/self/rotate 403"])
}
