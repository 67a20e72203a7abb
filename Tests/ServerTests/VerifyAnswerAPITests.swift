import Foundation
import Testing

@Test func verifyAnswersTheRicherShapeOverHTTP() throws {
    let f = try ServerFixture()
    let c = try f.client()
    let (_, secret) = try f.createKey(
        #"""
        {"owner":"org_42","name":"Gateway","environment":"test","scopes":["a:read","a:write"],
         "expiresAt":"2099-12-31","metadata":{"tier":"pro"},
         "rateLimits":[{"name":"burst","limit":5,"windowSeconds":1},{"limit":100,"windowSeconds":3600}]}
        """#)
    let v = try c.call("POST", "/v1/verify", json: #"{"key":"\#(secret)","scopes":["a:read","a:write"],"environment":"test"}"#)
    #expect(v.data["code"] as? String == "VALID")
    #expect(v.data["name"] as? String == "Gateway" && v.data["environment"] as? String == "test")
    // A date alone is the end of that day, UTC: the key works through 2099-12-31.
    #expect(v.data["expiresAt"] as? String == "2100-01-01T00:00:00.000000Z")
    #expect(v.data["metadata"] as? [String: String] == ["tier": "pro"])
    let limits = v.data["rateLimits"] as? [[String: Any]] ?? []
    #expect(limits.count == 2)
    #expect(limits.first?["name"] as? String == "burst" && limits.first?["remaining"] as? Int == 4)
    #expect(limits.last?["name"] is NSNull && limits.last?["scope"] as? String == "key")
    #expect((v.data["rateLimit"] as? [String: Any])?["remaining"] as? Int == 4)

    let scope = try c.call("POST", "/v1/verify", json: #"{"key":"\#(secret)","scopes":["a:read","b:read"]}"#)
    #expect(scope.data["code"] as? String == "INSUFFICIENT_SCOPE")
    let live = try c.call("POST", "/v1/verify", json: #"{"key":"\#(secret)","environment":"live"}"#)
    #expect(live.data["code"] as? String == "NOT_FOUND" && live.data["status"] as? Int == 401)
    #expect(live.data["keyId"] == nil && live.data["name"] == nil)
    let bad = try c.call("POST", "/v1/verify", json: #"{"key":"\#(secret)","scopes":"a:read"}"#)
    #expect(bad.status == 400 && bad.errorCode == "INVALID_REQUEST")
}

@Test func creditsTakeExactlyOneOfAddSetSubtract() throws {
    let f = try ServerFixture()
    let c = try f.client()
    let (id, _) = try f.createKey(#"{"owner":"org_42","name":"Metered","credits":10}"#)
    func credits(_ body: String) throws -> (Int, Any?) {
        let r = try c.call("POST", "/v1/keys/\(id)/credits", json: body, headers: f.auth)
        return (r.status, r.data["credits"])
    }
    let set = try credits(#"{"set":50}"#)
    #expect(set.0 == 200 && set.1 as? Int == 50)
    #expect(try credits(#"{"subtract":20}"#).1 as? Int == 30)
    #expect(try credits(#"{"add":5}"#).1 as? Int == 35)
    let before = f.eventCount
    #expect(try credits(#"{"add":5,"set":1}"#).0 == 400)
    #expect(try credits(#"{}"#).0 == 400)
    #expect(try credits(#"{"subtract":100}"#).0 == 409)
    // Bad input leaves nothing; the refusal at most its own audit record.
    #expect(try eventTypes(f.ledger, after: before).allSatisfy { $0 == "ledger.request" })
    let got = try c.call("GET", "/v1/keys/\(id)", headers: f.auth)
    #expect(got.data["credits"] as? Int == 35)
}
