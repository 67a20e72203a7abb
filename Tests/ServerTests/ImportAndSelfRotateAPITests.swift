import Foundation
import Events
import Testing

private func sha256Hex(_ text: String) -> String {
    // The digest the ledger keeps: SHA-256 of the secret's UTF-8 bytes.
    Secret.digest(text).hex
}

@Test func anImportedKeyVerifiesByTheHashOfItsForeignSecret() throws {
    let f = try ServerFixture()
    let c = try f.client()
    let foreign = "legacy-3f9a1c77e2b04d5e9a8b7c6d5e4f3a2b"
    let imported = try c.call(
        "POST", "/v1/keys/import",
        json: #"{"owner":"org_42","name":"Legacy","scopes":["accounts:read"],"secretHash":"sha256:\#(sha256Hex(foreign))"}"#,
        headers: f.auth)
    #expect(imported.status == 201 && imported.data["secret"] == nil && imported.data["name"] as? String == "Legacy")
    let v = try c.call("POST", "/v1/verify", json: #"{"key":"\#(foreign)","scope":"accounts:read"}"#)
    #expect(v.data["code"] as? String == "VALID" && v.data["keyId"] as? String == imported.data["id"] as? String)
    // A foreign secret that was never imported is looked up, and not found.
    let other = try c.call("POST", "/v1/verify", json: #"{"key":"legacy-not-imported"}"#)
    #expect(other.data["code"] as? String == "NOT_FOUND")
    // The same hash again would make two keys answer one secret.
    let twice = try c.call(
        "POST", "/v1/keys/import", json: #"{"owner":"org_42","name":"Again","secretHash":"sha256:\#(sha256Hex(foreign))"}"#,
        headers: f.auth)
    #expect(twice.status == 409)
    let bad = try c.call(
        "POST", "/v1/keys/import", json: #"{"owner":"org_42","name":"Bad","secretHash":"md5:abc"}"#, headers: f.auth)
    #expect(bad.status == 400 && bad.errorCode == "INVALID_REQUEST")
}

@Test func aKeyLedgerShapedSecretWithABadChecksumIsNeverLookedUp() throws {
    let f = try ServerFixture()
    let c = try f.client()
    // A secret of KeyLedger's shape whose checksum is wrong, imported by its hash: the
    // checksum gate refuses it before any lookup, so it never verifies.
    let (_, real) = try f.createKey()
    var bytes = Array(real.utf8)
    bytes[bytes.count - 1] = bytes[bytes.count - 1] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
    let forged = String(decoding: bytes, as: UTF8.self)
    #expect(Secret.hasLedgerShape(forged) && !Secret.isWellFormed(forged))
    let imported = try c.call(
        "POST", "/v1/keys/import", json: #"{"owner":"org_42","name":"Forged","secretHash":"sha256:\#(sha256Hex(forged))"}"#,
        headers: f.auth)
    #expect(imported.status == 201)
    let before = f.eventCount
    let v = try c.call("POST", "/v1/verify", json: #"{"key":"\#(forged)"}"#)
    #expect(v.data["code"] as? String == "NOT_FOUND" && v.data["keyId"] == nil)
    #expect(f.eventCount == before)
}

@Test func aKeyRotatesItselfOnlyWithSelfRotate() throws {
    let f = try ServerFixture()
    let c = try f.client()
    let (_, user) = try f.createKey(#"{"owner":"org_42","name":"User","selfRotate":true,"credits":0}"#)
    let rotated = try c.call(
        "POST", "/v1/keys/self/rotate", json: #"{"gracePeriodSeconds":0}"#, headers: ["Authorization": "Bearer \(user)"])
    #expect(rotated.status == 200)
    let fresh = rotated.data["secret"] as? String ?? ""
    #expect(fresh.hasPrefix("sk_live_") && fresh != user)
    #expect(try c.call("POST", "/v1/verify", json: #"{"key":"\#(user)"}"#).data["code"] as? String == "EXPIRED")
    #expect(try c.call("POST", "/v1/verify", json: #"{"key":"\#(fresh)","cost":0}"#).data["code"] as? String == "VALID")
    // The old secret no longer rotates anything; each refusal is in the audit trail.
    var mark = f.eventCount
    #expect(try c.call("POST", "/v1/keys/self/rotate", headers: ["Authorization": "Bearer \(user)"]).status == 401)
    #expect(try f.records(after: mark) == ["auth.failed expired"])

    let (_, plain) = try f.createKey(#"{"owner":"org_42","name":"Plain"}"#)
    mark = f.eventCount
    let refused = try c.call("POST", "/v1/keys/self/rotate", headers: ["Authorization": "Bearer \(plain)"])
    #expect(refused.status == 403 && refused.errorCode == "FORBIDDEN")
    #expect(try f.records(after: mark) == ["key.accessed 403"])
    #expect(try c.call("POST", "/v1/verify", json: #"{"key":"\#(plain)"}"#).data["code"] as? String == "VALID")
    #expect(try c.call("POST", "/v1/keys/self/rotate", headers: f.auth).status == 400)
}
