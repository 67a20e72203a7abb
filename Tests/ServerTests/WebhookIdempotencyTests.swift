import Events
import Foundation
import Notify
import Server
import Testing

/// One webhook command sent with an Idempotency-Key.
struct IdempotentWebhookCase: CustomStringConvertible, Sendable {
    let name: String
    let method: String
    /// `{id}` is replaced by a fresh webhook's id.
    let path: String
    let body: String?
    let status: Int
    /// The event its one effect appends (nil: a redelivery, which appends none).
    let effect: String?

    var description: String { name }
}

let idempotentWebhookCases = [
    IdempotentWebhookCase(
        name: "create", method: "POST", path: "/v1/webhooks",
        body: #"{"url":"https://hooks.example.com/b","eventTypes":["key.created"],"owner":"org_42"}"#, status: 201,
        effect: "webhook.created"),
    IdempotentWebhookCase(
        name: "update", method: "PATCH", path: "/v1/webhooks/{id}", body: #"{"description":"crm"}"#, status: 200,
        effect: "webhook.updated"),
    IdempotentWebhookCase(
        name: "rotate-secret", method: "POST", path: "/v1/webhooks/{id}/rotate-secret", body: nil, status: 200,
        effect: "webhook.secret_rotated"),
    IdempotentWebhookCase(
        name: "delete", method: "DELETE", path: "/v1/webhooks/{id}", body: nil, status: 200,
        effect: "webhook.deleted"),
    IdempotentWebhookCase(
        name: "redeliver", method: "POST", path: "/v1/webhooks/{id}/redeliver", body: #"{"after":0}"#, status: 202,
        effect: nil),
]

private func createWebhook(_ s: RestartableServer, headers: [String: String]? = nil) throws -> (String, String) {
    let created = try s.client().call(
        "POST", "/v1/webhooks", json: #"{"url":"https://hooks.example.com/a","eventTypes":["*"],"owner":"org_42"}"#,
        headers: headers ?? s.auth)
    #expect(created.status == 201)
    return (
        (created.data["webhook"] as? [String: Any])?["id"] as? String ?? "", created.data["secret"] as? String ?? ""
    )
}

/// The secret the webhook's deliveries are signed with now.
private func signingSecret(_ s: RestartableServer, _ id: String) throws -> String {
    let hook = try s.client().call("GET", "/v1/webhooks/\(id)", headers: s.auth).data
    let version = try #require(hook["secretVersion"] as? Int)
    let key = try #require(s.notifications.key)
    return key.secret(try #require(WebhookID(id)), version: UInt32(version))
}

/// Root's retry of each webhook command, then again after a restart: the first answer
/// (status and body), `Idempotent-Replayed: true`, and no second effect.
@Test(arguments: idempotentWebhookCases)
func aRetriedWebhookCommandGetsTheFirstAnswerAndNoSecondEffect(_ c: IdempotentWebhookCase) throws {
    let s = try RestartableServer()
    let (id, _) = try createWebhook(s)
    let path = c.path.replacingOccurrences(of: "{id}", with: id)
    let headers = s.auth.merging(["Idempotency-Key": "retry-\(c.name)"]) { $1 }
    let before = s.eventCount
    let first = try s.client().call(c.method, path, json: c.body, headers: headers)
    #expect(first.status == c.status, "\(String(decoding: first.body, as: UTF8.self))")
    #expect(first.headers["idempotent-replayed"] == nil)
    let effect = s.eventCount
    // A command's event, or root's redelivery's own record.
    #expect(try eventTypes(s.ledger, after: before) == [c.effect ?? "ledger.request"])
    let redeliveries = try s.notifications.deliveries?.redeliveries().count

    for restarted in [false, true] {
        if restarted { try s.restart() }
        let mark = s.eventCount
        let again = try s.client().call(c.method, path, json: c.body, headers: headers)
        #expect(
            again.status == c.status && again.body == first.body,
            "restarted: \(restarted) \(String(decoding: again.body, as: UTF8.self))")
        #expect(again.headers["idempotent-replayed"] == "true")
        // No second effect: only the replay's own record.
        #expect(s.eventCount == mark + 1)
        let replays = try eventTypes(s.ledger, after: mark)
        #expect(replays == ["ledger.request"], "\(replays)")
        #expect(try eventTypes(s.ledger, after: effect).filter { $0 != "ledger.request" }.isEmpty)
    }
    let hooks = try s.client().call("GET", "/v1/webhooks", headers: s.auth).list
    #expect(hooks.count == (c.name == "create" ? 2 : c.name == "delete" ? 0 : 1))
    #expect(try s.notifications.deliveries?.redeliveries().count == redeliveries)
    if let secret = first.data["secret"] as? String {
        // Rotated once, and the secret answered (again) is the one deliveries are signed with.
        let answered = (first.data["webhook"] as? [String: Any])?["id"] as? String ?? ""
        #expect(try signingSecret(s, answered) == secret)
        // Never kept: the data file does not contain it.
        let file = try Data(contentsOf: URL(fileURLWithPath: s.directory + "/data.mdb"))
        #expect(file.range(of: Data(secret.utf8)) == nil)
    }
}

/// A retried rotation is the first answer even once the secret was rotated again:
/// the secret it answered (derived again, never kept), and no rotation of its own.
@Test func aRetriedRotationAfterAnotherOneIsStillTheFirstAnswer() throws {
    let s = try RestartableServer()
    let (id, _) = try createWebhook(s)
    let headers = s.auth.merging(["Idempotency-Key": "rotate-once"]) { $1 }
    let first = try s.client().call("POST", "/v1/webhooks/\(id)/rotate-secret", headers: headers)
    #expect(first.status == 200)
    #expect(try s.client().call("POST", "/v1/webhooks/\(id)/rotate-secret", headers: s.auth).status == 200)
    let again = try s.client().call("POST", "/v1/webhooks/\(id)/rotate-secret", headers: headers)
    #expect(again.status == 200 && again.body == first.body && again.headers["idempotent-replayed"] == "true")
    let hook = try s.client().call("GET", "/v1/webhooks/\(id)", headers: s.auth).data
    #expect(hook["secretVersion"] as? Int == 3)
}

/// A ledger key's retry of a webhook command is decided again: replayed (and recorded
/// as its use) while the key may manage the webhook, refused with nothing of the first
/// answer once it was revoked, lost `ledger:webhooks`, or the webhook was deleted.
@Test func aLedgerKeysWebhookReplayIsDecidedAgain() throws {
    let s = try RestartableServer()
    let created = try s.client().call(
        "POST", "/v1/keys", json: #"{"owner":"org_42","name":"Hooks","scopes":["ledger:webhooks"]}"#, headers: s.auth)
    let keyID = (created.data["key"] as? [String: Any])?["id"] as? String ?? ""
    let bearer = ["Authorization": "Bearer \(created.data["secret"] as? String ?? "")"]
    let create = bearer.merging(["Idempotency-Key": "make-hook"]) { $1 }
    let body = #"{"url":"https://hooks.example.com/c","eventTypes":["*"]}"#
    let first = try s.client().call("POST", "/v1/webhooks", json: body, headers: create)
    #expect(first.status == 201)
    let id = (first.data["webhook"] as? [String: Any])?["id"] as? String ?? ""
    let secret = try #require(first.data["secret"] as? String)
    var mark = s.eventCount
    let replayed = try s.client().call("POST", "/v1/webhooks", json: body, headers: create)
    #expect(replayed.status == 201 && replayed.body == first.body && replayed.headers["idempotent-replayed"] == "true")
    #expect(try auditTrail(s.client(), auth: s.auth, after: mark) == ["key.accessed \(keyID) POST /v1/webhooks 201"])
    #expect(try s.client().call("GET", "/v1/webhooks", headers: s.auth).list.count == 1)

    let patch = bearer.merging(["Idempotency-Key": "describe-hook"]) { $1 }
    let patched = try s.client().call("PATCH", "/v1/webhooks/\(id)", json: #"{"description":"x"}"#, headers: patch)
    #expect(patched.status == 200)
    let redeliver = bearer.merging(["Idempotency-Key": "redeliver-hook"]) { $1 }
    let redelivered = try s.client().call(
        "POST", "/v1/webhooks/\(id)/redeliver", json: #"{"after":0}"#, headers: redeliver)
    #expect(redelivered.status == 202)
    let again = try s.client().call("POST", "/v1/webhooks/\(id)/redeliver", json: #"{"after":0}"#, headers: redeliver)
    #expect(again.status == 202 && again.body == redelivered.body && again.headers["idempotent-replayed"] == "true")

    // Without ledger:webhooks the retries are refused.
    #expect(try s.client().call("PATCH", "/v1/keys/\(keyID)", json: #"{"scopes":[]}"#, headers: s.auth).status == 200)
    mark = s.eventCount
    let forbidden = try s.client().call("POST", "/v1/webhooks", json: body, headers: create)
    #expect(forbidden.status == 403 && forbidden.headers["idempotent-replayed"] == nil && forbidden.json["data"] == nil)
    #expect(!String(decoding: forbidden.body, as: UTF8.self).contains(secret.dropFirst(6)))
    #expect(try auditTrail(s.client(), auth: s.auth, after: mark) == ["key.accessed \(keyID) POST /v1/webhooks 403"])
    let scopes = #"{"scopes":["ledger:webhooks"]}"#
    #expect(try s.client().call("PATCH", "/v1/keys/\(keyID)", json: scopes, headers: s.auth).status == 200)

    // The webhook deleted since: not found for the PATCH's retry.
    #expect(try s.client().call("DELETE", "/v1/webhooks/\(id)", headers: s.auth).status == 200)
    let gone = try s.client().call("PATCH", "/v1/webhooks/\(id)", json: #"{"description":"x"}"#, headers: patch)
    #expect(gone.status == 404 && gone.json["data"] == nil)

    // Revoked: unauthenticated.
    #expect(try s.client().call("DELETE", "/v1/keys/\(keyID)", headers: s.auth).status == 200)
    let revoked = try s.client().call("POST", "/v1/webhooks", json: body, headers: create)
    #expect(revoked.status == 401 && revoked.json["data"] == nil)
    #expect(!String(decoding: revoked.body, as: UTF8.self).contains(secret.dropFirst(6)))
}

/// A ledger key's retried delete gets its first answer: the webhook is gone by that
/// very request.
@Test func aLedgerKeysRetriedWebhookDeleteIsReplayed() throws {
    let s = try RestartableServer()
    let created = try s.client().call(
        "POST", "/v1/keys", json: #"{"owner":"org_42","name":"Hooks","scopes":["ledger:webhooks"]}"#, headers: s.auth)
    let bearer = ["Authorization": "Bearer \(created.data["secret"] as? String ?? "")"]
    let (id, _) = try createWebhook(s, headers: bearer)
    let headers = bearer.merging(["Idempotency-Key": "drop-hook"]) { $1 }
    let first = try s.client().call("DELETE", "/v1/webhooks/\(id)", headers: headers)
    #expect(first.status == 200)
    let mark = s.eventCount
    let again = try s.client().call("DELETE", "/v1/webhooks/\(id)", headers: headers)
    #expect(again.status == 200 && again.body == first.body && again.headers["idempotent-replayed"] == "true")
    #expect(s.eventCount == mark + 1)
    #expect(try eventTypes(s.ledger, after: mark) == ["key.accessed"])
}

/// Root's retried leak report: the same labels, one `key.leaked`, and the reported
/// token is never kept.
@Test func aRetriedLeakReportGetsTheFirstAnswer() throws {
    let s = try RestartableServer()
    let created = try s.client().call("POST", "/v1/keys", json: #"{"owner":"org_42","name":"Leaky"}"#, headers: s.auth)
    let token = try #require(created.data["secret"] as? String)
    let body = #"[{"token":"\#(token)","type":"keyledger","url":"https://github.com/x","source":"content"}]"#
    let headers = s.auth.merging(["Idempotency-Key": "report-once"]) { $1 }
    let before = s.eventCount
    let first = try s.client().call("POST", "/v1/leaks", json: body, headers: headers)
    #expect(first.status == 200 && String(decoding: first.body, as: UTF8.self).contains("true_positive"))
    let effect = s.eventCount
    #expect(try eventTypes(s.ledger, after: before) == ["key.leaked", "key.suspended"])
    try s.restart()
    let again = try s.client().call("POST", "/v1/leaks", json: body, headers: headers)
    #expect(again.status == 200 && again.body == first.body && again.headers["idempotent-replayed"] == "true")
    #expect(s.eventCount == effect + 1)
    #expect(try eventTypes(s.ledger, after: effect) == ["ledger.request"])
    let file = try Data(contentsOf: URL(fileURLWithPath: s.directory + "/data.mdb"))
    #expect(file.range(of: Data(token.utf8)) == nil)
}
