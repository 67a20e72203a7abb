import Events
import Foundation
import Projections
import Testing

@testable import Server

/// `POST /v1/verify` takes a direct path (rendered on the event loop); with a query it
/// goes the general way. Both must answer the same bytes.
@Test func verifyAnswersTheSameBytesOnTheDirectAndTheGeneralPath() throws {
    let f = try ServerFixture()
    let c = try f.client()
    let (_, secret) = try f.createKey(
        #"{"owner":"org_42","name":"Both \"ways\"","scopes":["a:read"],"metadata":{"t":"x\u2028y"}}"#)
    let body = #"{"key":"\#(secret)","scope":"a:read","endpoint":"GET /x"}"#
    let direct = try c.call("POST", "/v1/verify", json: body, headers: ["X-Request-Id": "same-id"])
    // `?&` holds no parameter: accepted, but not the direct path's exact `POST /v1/verify`.
    let general = try c.call("POST", "/v1/verify?&", json: body, headers: ["X-Request-Id": "same-id"])
    #expect(direct.status == 200 && general.status == 200)
    #expect(direct.data["code"] as? String == "VALID")
    #expect(direct.body == general.body)
    #expect(String(decoding: direct.body, as: UTF8.self).contains(#""name":"Both \"ways\"""#))
    #expect(String(decoding: direct.body, as: UTF8.self).contains(#""t":"x\u2028y""#))
    #expect(Set(direct.headers.keys) == Set(general.headers.keys))
    #expect(direct.headers["x-request-id"] == "same-id")
    #expect(direct.headers["content-type"] == "application/json")
}

/// The direct path's `X-Ledger-Seq` is the verification's own `key.accessed`.
@Test func aDirectVerificationCarriesTheSeqOfItsOwnEvent() throws {
    let f = try ServerFixture()
    let c = try f.client()
    let (_, secret) = try f.createKey()
    for _ in 0..<3 {
        let v = try c.call("POST", "/v1/verify", json: #"{"key":"\#(secret)"}"#)
        #expect(v.data["code"] as? String == "VALID")
        #expect(v.headers["x-ledger-seq"] == String(f.eventCount))
    }
}

/// Bad input on the direct path: the same errors as before, and nothing recorded.
@Test func theDirectPathRefusesBadInputAndRecordsNothing() throws {
    let f = try ServerFixture()
    let c = try f.client()
    let (_, secret) = try f.createKey()
    let before = f.eventCount
    let cases: [(String, String)] = [
        (#"{"key":"\#(secret)","bogus":1}"#, "bogus: unknown field"),
        (#"{"key":"\#(secret)","scope":""}"#, "scope: must not be empty"),
        (#"{"key":"\#(secret)","account":""}"#, "account: must not be empty"),
        (#"{"key":"\#(secret)","environment":"sixteen-letters!"}"#, "environment: must be at most 15 characters"),
        (#"{"key":""}"#, "key: must be a non-empty string"),
        (#"{"scope":"a"}"#, "key: is required"),
        (#"[1]"#, "body: must be a JSON object"),
    ]
    for (body, message) in cases {
        let r = try c.call("POST", "/v1/verify", json: body)
        #expect(r.status == 400 && r.errorCode == "INVALID_REQUEST")
        #expect((r.json["error"] as? [String: Any])?["message"] as? String == message)
        #expect(r.headers["x-request-id"]?.hasPrefix("req_") == true)
        #expect(r.headers["x-ledger-seq"] == String(before))
    }
    #expect(f.eventCount == before)
}

/// A field past the 64th is tracked too: read ones pass, an unknown one is named.
@Test func aBodyWithManyMembersNamesTheFirstUnknownOne() throws {
    var members = (0..<70).map { #""f\#($0)":\#($0)"# }
    var body = try RequestBody(Array("{\(members.joined(separator: ","))}".utf8))
    for i in 0..<70 where i != 66 { _ = body.value("f\(i)") }
    #expect(throws: APIError.invalid("f66", "unknown field")) { try body.finish() }
    _ = body.value("f66")
    try body.finish()
    members.append(#""late":true"#)
    let more = try RequestBody(Array("{\(members.joined(separator: ","))}".utf8))
    #expect(throws: APIError.invalid("f0", "unknown field")) { try more.finish() }
}

/// A string's limit counts characters, as before: "é" written as e + U+0301 is one.
@Test func lengthLimitsCountCharactersNotBytes() throws {
    #expect(RequestBody.fits(String(repeating: "e\u{301}", count: 15), 15))
    #expect(!RequestBody.fits(String(repeating: "e", count: 16), 15))
    #expect(RequestBody.fits("", 0))
}

@Test func madeRequestIDsAreDistinctAndOfTheDocumentedForm() {
    var seen = Set<String>()
    for _ in 0..<10_000 {
        let id = APIResponder.requestID(nil)
        #expect(id.utf8.count == 24 && id.hasPrefix("req_"))
        #expect(id.utf8.dropFirst(4).allSatisfy { Base62Digit.contains($0) })
        seen.insert(id)
    }
    #expect(seen.count == 10_000)
    #expect(APIResponder.requestID("client.id:1-2_3") == "client.id:1-2_3")
    #expect(APIResponder.requestID("no spaces") != "no spaces")
}

private enum Base62Digit {
    static func contains(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
    }
}

@Test func jsonMediaTypesAreRecognisedOnTheirBytes() {
    for yes in ["application/json", " Application/JSON", "application/json ; charset=utf-8", "APPLICATION/JSON\t"] {
        var text = yes
        let recognised = text.withUTF8(APIResponder.isJSON)
        #expect(recognised, "\(yes)")
    }
    for no in ["", "application/jso", "application/jsonx", "text/json", "application/json x", "application/json,"] {
        var text = no
        let recognised = text.withUTF8(APIResponder.isJSON)
        #expect(!recognised, "\(no)")
    }
}

@Test func methodsOutsideTheAPIsSevenAreCountedAsOther() {
    for method in ["GET", "HEAD", "POST", "PATCH", "DELETE", "PUT", "OPTIONS"] {
        #expect(RequestMetrics.countedMethod(method) == method)
    }
    for method in ["post", "BREW", "", "GETS"] { #expect(RequestMetrics.countedMethod(method) == "OTHER") }
}

/// The answer's per-key members are reused only while the key is unchanged: a rename,
/// new metadata, scopes, an expiry and the owner's plan all show at once.
@Test func aChangedKeyIsAnsweredWithItsNewFields() throws {
    let f = try ServerFixture()
    let c = try f.client()
    let (id, secret) = try f.createKey(#"{"owner":"org_7","name":"Before","scopes":["a:read"],"metadata":{"t":"1"}}"#)
    func verify() throws -> [String: Any] {
        try c.call("POST", "/v1/verify", json: #"{"key":"\#(secret)"}"#).data
    }
    let first = try verify()
    #expect(first["name"] as? String == "Before" && first["plan"] is NSNull)
    #expect(try verify()["name"] as? String == "Before")
    let patched = try c.call(
        "PATCH", "/v1/keys/\(id)",
        json: #"{"name":"After","scopes":["a:read","b:write"],"metadata":{"t":"2"},"expiresAt":"2099-12-31"}"#,
        headers: f.auth)
    #expect(patched.status == 200)
    let after = try verify()
    #expect(after["name"] as? String == "After")
    #expect(after["scopes"] as? [String] == ["a:read", "b:write"])
    #expect(after["metadata"] as? [String: String] == ["t": "2"])
    #expect(after["expiresAt"] as? String == "2100-01-01T00:00:00.000000Z")
    #expect(try c.call("PUT", "/v1/plans/gold", json: #"{"rateLimits":[]}"#, headers: f.auth).status == 200)
    #expect(try c.call("PUT", "/v1/owners/org_7", json: #"{"plan":"gold"}"#, headers: f.auth).status == 200)
    #expect(try verify()["plan"] as? String == "gold")
}

/// The cache holds at most its capacity of keys, and a key's entry is replaced in place.
@Test func verifyFragmentsStayWithinTheirCapacity() throws {
    let fragments = VerifyFragments()
    var key = KeyState(
        id: KeyID(high: 1, low: 0), owner: "org_a",
        created: KeyCreated(
            name: "sample", prefix: "sk_live_", environment: "live", scopes: ["a:read"], accounts: [],
            ipAllowlist: [], expiresAt: nil, rateLimits: [], credits: nil, metadata: ["k": "v"],
            secretDigest: Secret.digest("sk_live_sample")),
        at: 0)
    for i in 0..<(VerifyFragments.capacity + 10) {
        key.id = KeyID(high: 1, low: UInt64(i))
        _ = fragments.fragments(key, plan: nil)
        #expect(fragments.count <= VerifyFragments.capacity)
    }
    let before = fragments.count
    key.name = "renamed"
    let renamed = fragments.fragments(key, plan: "p")
    #expect(fragments.count == before)
    #expect(renamed.identity == VerifyFragments.identity(key))
    #expect(renamed.terms == VerifyFragments.terms(key, plan: "p"))
}

/// Verifications are counted apart from the other routes' maps and shown among them.
@Test func verificationsAreCountedOnBothPathsBesideOtherRoutes() throws {
    let f = try ServerFixture()
    let c = try f.client()
    let (_, secret) = try f.createKey()
    for path in ["/v1/verify", "/v1/verify", "/v1/verify?&"] {
        #expect(try c.call("POST", path, json: #"{"key":"\#(secret)"}"#).status == 200)
    }
    #expect(try c.call("POST", "/v1/verify", json: #"{"nope":1}"#).status == 400)
    #expect(try c.call("GET", "/v1/verify").status == 405)
    let text = String(decoding: try c.call("GET", "/metrics", headers: f.auth).body, as: UTF8.self)
    #expect(text.contains(#"keyledger_http_requests_total{route="/v1/verify",method="POST",status="200"} 3"#))
    #expect(text.contains(#"keyledger_http_requests_total{route="/v1/verify",method="POST",status="400"} 1"#))
    #expect(text.contains(#"keyledger_http_requests_total{route="/v1/verify",method="GET",status="405"} 1"#))
    #expect(text.contains(#"keyledger_http_requests_total{route="/v1/keys",method="POST",status="201"} 1"#))
    #expect(text.contains(#"keyledger_http_request_duration_seconds_count{route="/v1/verify",method="POST"} 4"#))
    #expect(text.contains(#"keyledger_http_request_duration_seconds_count{route="/v1/verify",method="GET"} 1"#))
}
