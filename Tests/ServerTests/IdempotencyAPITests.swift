import Foundation
import Testing

/// One management command of each type, sent with an Idempotency-Key.
struct IdempotentCase: CustomStringConvertible, Sendable {
    let name: String
    let method: String
    /// `{id}` is replaced by a fresh key's id.
    let path: String
    let body: String?
    let status: Int
    /// Whether the answer carries a secret (create and rotate).
    let secret: Bool
    /// The target key's own secret is the credential (self-rotation), not the root token.
    var asTarget = false

    var description: String { name }
}

let idempotentCases = [
    IdempotentCase(
        name: "create", method: "POST", path: "/v1/keys", body: #"{"owner":"org_42","name":"Retried"}"#, status: 201,
        secret: true),
    IdempotentCase(
        name: "update", method: "PATCH", path: "/v1/keys/{id}", body: #"{"metadata":{"n":"1"},"rateLimits":[{"limit":5,"windowSeconds":60}]}"#,
        status: 200, secret: false),
    IdempotentCase(
        name: "rotate", method: "POST", path: "/v1/keys/{id}/rotate", body: #"{"gracePeriodSeconds":60}"#,
        status: 200, secret: true),
    IdempotentCase(
        name: "suspend", method: "POST", path: "/v1/keys/{id}/suspend", body: nil, status: 200, secret: false),
    IdempotentCase(
        name: "credits", method: "POST", path: "/v1/keys/{id}/credits", body: #"{"add":5}"#, status: 200, secret: false),
    IdempotentCase(
        name: "set credits", method: "POST", path: "/v1/keys/{id}/credits", body: #"{"set":50}"#, status: 200,
        secret: false),
    IdempotentCase(
        name: "subtract credits", method: "POST", path: "/v1/keys/{id}/credits", body: #"{"subtract":3}"#, status: 200,
        secret: false),
    IdempotentCase(
        name: "import", method: "POST", path: "/v1/keys/import",
        body: #"{"owner":"org_42","name":"Legacy","secretHash":"sha256:\#(String(repeating: "ab", count: 32))"}"#,
        status: 201, secret: false),
    IdempotentCase(
        // A grace period keeps the old secret, which the retry presents, usable.
        name: "self-rotate", method: "POST", path: "/v1/keys/self/rotate", body: #"{"gracePeriodSeconds":600}"#,
        status: 200, secret: true, asTarget: true),
    IdempotentCase(
        name: "revoke", method: "DELETE", path: "/v1/keys/{id}", body: nil, status: 200, secret: false),
]

/// The same request twice, then again after a restart: one effect, the first answer each
/// time (a secret only while the server that made it runs).
@Test(arguments: idempotentCases)
func aRetriedCommandGetsTheFirstAnswerAndNoSecondEffect(_ c: IdempotentCase) throws {
    let s = try RestartableServer()
    let created = try s.client().call(
        "POST", "/v1/keys", json: #"{"owner":"org_42","name":"Target","credits":10,"selfRotate":true}"#, headers: s.auth)
    let id = (created.data["key"] as? [String: Any])?["id"] as? String ?? ""
    let path = c.path.replacingOccurrences(of: "{id}", with: id)
    var headers = c.asTarget ? ["Authorization": "Bearer \(created.data["secret"] as? String ?? "")"] : s.auth
    headers["Idempotency-Key"] = "retry-\(c.name)"
    let before = s.eventCount
    let first = try s.client().call(c.method, path, json: c.body, headers: headers)
    #expect(first.status == c.status)
    #expect(first.headers["idempotent-replayed"] == nil)
    let effect = s.eventCount
    #expect(effect > before)

    let again = try s.client().call(c.method, path, json: c.body, headers: headers)
    #expect(again.status == c.status && again.body == first.body)
    #expect(again.headers["idempotent-replayed"] == "true")
    // No second effect: only the replay's own record (a ledger key's use, root's request).
    let replays = c.asTarget ? ["key.accessed"] : ["ledger.request"]
    #expect(s.eventCount == effect + UInt64(replays.count))
    #expect(try eventTypes(s.ledger, after: effect) == replays)

    if c.secret, let secret = first.data["secret"] as? String {
        // The kept answer holds no secret: the data file never contains it.
        let file = try Data(contentsOf: URL(fileURLWithPath: s.directory + "/data.mdb"))
        #expect(file.range(of: Data(secret.utf8)) == nil)
    }
    try s.restart()
    let afterRestart = try s.client().call(c.method, path, json: c.body, headers: headers)
    #expect(s.eventCount == effect + UInt64(2 * replays.count))
    #expect(try eventTypes(s.ledger, after: effect) == replays + replays)
    if c.secret {
        // The secret was only ever in the first server's memory.
        #expect(afterRestart.status == 409 && afterRestart.errorCode == "CONFLICT")
        let message = (afterRestart.json["error"] as? [String: Any])?["message"] as? String ?? ""
        let made = ((first.data["key"] as? [String: Any])?["id"] as? String) ?? "?"
        #expect(message.contains(made))
        #expect(!String(decoding: afterRestart.body, as: UTF8.self).contains("sk_live_"))
    } else {
        #expect(afterRestart.status == c.status && afterRestart.body == first.body)
        #expect(afterRestart.headers["idempotent-replayed"] == "true")
    }
}

@Test func anIdempotencyKeyReusedForAnotherRequestIsAConflict() throws {
    let s = try RestartableServer()
    var headers = s.auth
    headers["Idempotency-Key"] = "once"
    let body = #"{"owner":"org_42","name":"A"}"#
    #expect(try s.client().call("POST", "/v1/keys", json: body, headers: headers).status == 201)
    let count = s.eventCount
    let otherBody = try s.client().call("POST", "/v1/keys", json: #"{"owner":"org_42","name":"B"}"#, headers: headers)
    #expect(otherBody.status == 409 && otherBody.errorCode == "CONFLICT")
    let id = try s.client().call("GET", "/v1/keys", headers: s.auth).list.first?["id"] as? String ?? ""
    let otherPath = try s.client().call("POST", "/v1/keys/\(id)/suspend", headers: headers)
    #expect(otherPath.status == 409)
    // No effect: only the refused requests' own audit records.
    #expect(
        try auditTrail(s.client(), auth: s.auth, after: count) == [
            "ledger.request root POST /v1/keys 409", "ledger.request root GET /v1/keys 200",
            "ledger.request root POST /v1/keys/{id}/suspend 409",
        ])
    // Another principal's key of the same name is its own.
    let (_, otherSecret) = try createManager(s)
    var theirs = ["Authorization": "Bearer \(otherSecret)"]
    theirs["Idempotency-Key"] = "once"
    #expect(try s.client().call("POST", "/v1/keys", json: body, headers: theirs).status == 201)
    let tooLong = String(repeating: "k", count: 256)
    let bad = try s.client().call(
        "POST", "/v1/keys", json: body, headers: s.auth.merging(["Idempotency-Key": tooLong]) { $1 })
    #expect(bad.status == 400 && bad.errorCode == "INVALID_REQUEST")
}

@Test func aRefusedRequestIsNotKeptAndMayBeRetried() throws {
    let s = try RestartableServer()
    var headers = s.auth
    headers["Idempotency-Key"] = "fix-and-retry"
    let refused = try s.client().call("POST", "/v1/keys/key_nonexistent000000000000/suspend", headers: headers)
    #expect(refused.status == 404)
    let id = try createTarget(s)
    #expect(try s.client().call("POST", "/v1/keys/\(id)/suspend", headers: headers).status == 200)
}

@Test func aRequestInFlightIsAConflictForItsRetry() throws {
    let s = try RestartableServer()
    let id = try createTarget(s)
    let headers = s.auth.merging(["Idempotency-Key": "slow"]) { $1 }
    let port = s.port
    // Many copies at once: exactly one takes effect; the others are replays or 409s.
    let group = DispatchGroup()
    let statuses = Mutex409Counter()
    let before = s.eventCount
    for _ in 0..<16 {
        group.enter()
        // Threads of their own: blocked clients must not take the dispatch pool the server answers from.
        Thread.detachNewThread {
            defer { group.leave() }
            guard let client = try? RawClient(port: port),
                let r = try? client.call("POST", "/v1/keys/\(id)/credits", json: #"{"add":1}"#, headers: headers)
            else { return }
            statuses.add(r.status, replayed: r.headers["idempotent-replayed"] == "true")
        }
    }
    group.wait()
    // One effect; each other copy leaves only its own record.
    #expect(s.eventCount == before + 16)
    let types = try eventTypes(s.ledger, after: before)
    #expect(types.filter { $0 != "ledger.request" } == ["key.credits_added"])
    let got = try s.client().call("GET", "/v1/keys/\(id)", headers: s.auth)
    #expect(got.data["credits"] as? Int == 11)
    let counts = statuses.counts
    #expect(counts.fresh == 1 && counts.fresh + counts.replayed + counts.conflicts == 16)
}

final class Mutex409Counter: @unchecked Sendable {
    // Safe to share: every access holds `lock`.
    private let lock = NSLock()
    private var fresh = 0, replayed = 0, conflicts = 0

    func add(_ status: Int, replayed wasReplayed: Bool) {
        lock.lock()
        defer { lock.unlock() }
        if status == 409 { conflicts += 1 } else if wasReplayed { replayed += 1 } else if status == 200 { fresh += 1 }
    }

    var counts: (fresh: Int, replayed: Int, conflicts: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (fresh, replayed, conflicts)
    }
}

func createTarget(_ s: RestartableServer) throws -> String {
    let created = try s.client().call(
        "POST", "/v1/keys", json: #"{"owner":"org_42","name":"Target","credits":10}"#, headers: s.auth)
    return (created.data["key"] as? [String: Any])?["id"] as? String ?? ""
}

/// A ledger key of org_42 that may manage keys.
func createManager(_ s: RestartableServer) throws -> (String, String) {
    let created = try s.client().call(
        "POST", "/v1/keys", json: #"{"owner":"org_42","name":"Manager","scopes":["ledger:keys"]}"#, headers: s.auth)
    return ((created.data["key"] as? [String: Any])?["id"] as? String ?? "", created.data["secret"] as? String ?? "")
}
