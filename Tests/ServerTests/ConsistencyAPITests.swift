import Foundation
@testable import Ledger
import Testing

/// Every answer says which seq it includes (`X-Ledger-Seq`): a command its own event's, a
/// query the projections'. A read passing a command's seq as `minSeq` sees the command.
@Test func answersCarryTheirSeqAndMinSeqReadsYourWrites() throws {
    let f = try ServerFixture()
    let c = try f.client()
    let created = try c.call("POST", "/v1/keys", json: #"{"owner":"org_1","name":"k"}"#, headers: f.auth)
    #expect(created.status == 201)
    let seq = try #require(created.headers["x-ledger-seq"].flatMap { UInt64($0) })
    #expect(seq == f.eventCount)
    let id = (created.data["key"] as? [String: Any])?["id"] as? String ?? ""
    let read = try c.call("GET", "/v1/keys/\(id)?minSeq=\(seq)", headers: f.auth)
    #expect(read.status == 200 && (read.data["id"] as? String) == id)
    #expect((read.headers["x-ledger-seq"].flatMap { UInt64($0) } ?? 0) >= seq)
    // An error answer carries one too.
    #expect(try c.call("GET", "/v1/keys/key_nope", headers: f.auth).headers["x-ledger-seq"] != nil)
}

@Test func minSeqPastTheHeadOrOnACommandIsRefused() throws {
    let f = try ServerFixture()
    let c = try f.client()
    let head = f.eventCount
    let past = try c.call("GET", "/v1/keys?minSeq=\(head + 1)", headers: f.auth)
    #expect(past.status == 400 && past.json["error"].debugDescription.contains("minSeq"))
    #expect(try c.call("GET", "/v1/keys?minSeq=x", headers: f.auth).status == 400)
    #expect(try c.call("GET", "/v1/keys?minSeq=0&minSeq=0", headers: f.auth).status == 400)
    let command = try c.call(
        "POST", "/v1/keys?minSeq=0", json: #"{"owner":"org_1","name":"k"}"#, headers: f.auth)
    #expect(command.status == 400)
    #expect(f.eventCount == head)
}

/// While the projections do not include `minSeq`, the query waits (2 s), then answers 503
/// with `Retry-After: 1`.
@Test func aQueryWhoseMinSeqIsNotFoldedInTimeIsAnswered503() throws {
    let f = try ServerFixture()
    let c = try f.client()
    let projector = try #require(f.ledger.projector)
    projector.pause()
    defer { projector.resume() }
    let created = try c.call("POST", "/v1/keys", json: #"{"owner":"org_1","name":"k"}"#, headers: f.auth)
    let seq = created.headers["x-ledger-seq"] ?? ""
    let waited = try c.call("GET", "/v1/keys?minSeq=\(seq)", headers: f.auth)
    #expect(waited.status == 503 && waited.headers["retry-after"] == "1")
    projector.resume()
    #expect(try c.call("GET", "/v1/keys?minSeq=\(seq)", headers: f.auth).list.count == 1)
}

/// A query answered 503 because its `minSeq` was not folded in time is still a
/// management request: a ledger key's is recorded as its use (status 503), a refused
/// credential gets its refusal (recorded too), and root's is recorded as any read.
@Test func aQueryWhoseMinSeqRunsOutIsRecordedAsAnyRead() throws {
    let f = try ServerFixture()
    let (managerID, manager) = try f.createKey(#"{"owner":"org_1","name":"m","scopes":["ledger:keys"]}"#)
    let (revokedID, revoked) = try f.createKey(#"{"owner":"org_1","name":"gone","scopes":["ledger:keys"]}"#)
    let c = try f.client()
    #expect(try c.call("DELETE", "/v1/keys/\(revokedID)", headers: f.auth).status == 200)
    let projector = try #require(f.ledger.projector)
    projector.pause()
    defer { projector.resume() }
    let created = try c.call("POST", "/v1/keys", json: #"{"owner":"org_1","name":"k"}"#, headers: f.auth)
    let seq = created.headers["x-ledger-seq"] ?? ""
    let before = f.eventCount
    let waited = try c.call("GET", "/v1/keys?minSeq=\(seq)", headers: ["X-API-Key": manager])
    #expect(waited.status == 503 && waited.headers["retry-after"] == "1" && waited.json["data"] == nil)
    #expect(try c.call("GET", "/v1/keys?minSeq=\(seq)", headers: ["X-API-Key": revoked]).status == 401)
    #expect(try c.call("GET", "/v1/keys/\(managerID)?minSeq=\(seq)", headers: f.auth).status == 503)
    // Bad input still leaves nothing.
    #expect(try c.call("GET", "/v1/keys?minSeq=\(seq)&limit=0", headers: ["X-API-Key": manager]).status == 400)
    projector.resume()
    #expect(
        try auditTrail(c, auth: f.auth, after: before) == [
            "key.accessed \(managerID) GET /v1/keys 503",
            "auth.failed unauthenticated GET /v1/keys revoked",
            "ledger.request root GET /v1/keys/{id} 503",
        ])
}
