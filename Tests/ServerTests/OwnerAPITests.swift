import Foundation
import Testing

@Test func ownersAndPlansOverHTTP() throws {
    let f = try ServerFixture()
    let c = try f.client()
    let plan = try c.call(
        "PUT", "/v1/plans/free", json: #"{"rateLimits":[{"name":"hour","limit":2,"windowSeconds":3600}],"credits":100}"#,
        headers: f.auth)
    #expect(plan.status == 200 && plan.data["plan"] as? String == "free" && plan.data["credits"] as? Int == 100)
    let owner = try c.call(
        "PUT", "/v1/owners/org_42",
        json: #"{"plan":"free","rateLimits":[{"name":"day","limit":1000,"windowSeconds":86400}],"leakPolicy":"revoke","metadata":{"tier":"free"}}"#,
        headers: f.auth)
    #expect(owner.status == 200 && owner.data["plan"] as? String == "free")
    #expect(owner.data["leakPolicy"] as? String == "revoke" && owner.data["credits"] is NSNull)
    #expect(try c.call("GET", "/v1/owners/org_42", headers: f.auth).data["version"] as? Int == 1)
    #expect(try c.call("GET", "/v1/owners", headers: f.auth).list.count == 1)
    #expect(try c.call("GET", "/v1/plans", headers: f.auth).list.map { $0["plan"] as? String } == ["free"])
    #expect(try c.call("GET", "/v1/owners/org_7", headers: f.auth).status == 404)
    #expect(try c.call("GET", "/v1/plans/gold", headers: f.auth).status == 404)
    let unknown = try c.call("PUT", "/v1/owners/org_42", json: #"{"plan":"gold"}"#, headers: f.auth)
    #expect(unknown.status == 400 && unknown.errorCode == "INVALID_REQUEST")
    let badPolicy = try c.call("PUT", "/v1/owners/org_42", json: #"{"leakPolicy":"ignore"}"#, headers: f.auth)
    #expect(badPolicy.status == 400)

    // A key created on the plan starts with the plan's credits; the answer names the plan.
    let created = try c.call(
        "POST", "/v1/keys", json: #"{"owner":"org_42","name":"A","plan":"free","selfRotate":true}"#, headers: f.auth)
    let key = created.data["key"] as? [String: Any] ?? [:]
    #expect(key["plan"] as? String == "free" && key["selfRotate"] as? Bool == true && key["credits"] as? Int == 100)
    let secret = created.data["secret"] as? String ?? ""
    let v = try c.call("POST", "/v1/verify", json: #"{"key":"\#(secret)"}"#)
    #expect(v.data["plan"] as? String == "free")
    let scopes = (v.data["rateLimits"] as? [[String: Any]] ?? []).map { "\($0["name"] ?? "")/\($0["scope"] ?? "")" }
    #expect(scopes == ["hour/key", "day/owner", "hour/owner"])
}

@Test func whoMayChangeOwnersAndPlans() throws {
    let f = try ServerFixture()
    let c = try f.client()
    #expect(try c.call("PUT", "/v1/plans/free", json: "{}", headers: f.auth).status == 200)
    let (_, keys) = try f.createKey(#"{"owner":"org_42","name":"Keys","scopes":["ledger:keys"]}"#)
    let (_, quotas) = try f.createKey(#"{"owner":"org_42","name":"Quotas","scopes":["ledger:quotas"]}"#)
    let asKeys = ["Authorization": "Bearer \(keys)"]
    let asQuotas = ["Authorization": "Bearer \(quotas)"]
    let limits = #"{"rateLimits":[{"limit":100,"windowSeconds":60}]}"#
    #expect(try c.call("PUT", "/v1/plans/free", json: limits, headers: asQuotas).status == 403)
    #expect(try c.call("PUT", "/v1/owners/org_42", json: limits, headers: asKeys).status == 403)
    #expect(try c.call("PUT", "/v1/owners/org_42", json: limits, headers: asQuotas).status == 200)
    #expect(try c.call("PUT", "/v1/owners/org_7", json: limits, headers: asQuotas).status == 403)
    let plan = try c.call("PUT", "/v1/owners/org_42", json: #"{"plan":"free"}"#, headers: asQuotas)
    #expect(plan.status == 403 && plan.errorCode == "FORBIDDEN")
    #expect(try c.call("GET", "/v1/owners/org_42", headers: asKeys).status == 200)
    #expect(try c.call("GET", "/v1/owners/org_7", headers: asKeys).status == 403)
    #expect(try c.call("GET", "/v1/plans", headers: asKeys).status == 200)
    // Over the Unix socket no credential is asked for.
    let local = try RawClient(unixPath: f.socketPath)
    #expect(try local.call("PUT", "/v1/owners/org_42", json: #"{"plan":"free"}"#).status == 200)
}

@Test func ownersAndPlansPageByName() throws {
    let f = try ServerFixture()
    let c = try f.client()
    for name in ["org_e", "org_a", "org_d", "org_b", "org_c"] {
        #expect(try c.call("PUT", "/v1/owners/\(name)", json: "{}", headers: f.auth).status == 200)
    }
    for name in ["pro", "basic", "free"] {
        #expect(try c.call("PUT", "/v1/plans/\(name)", json: "{}", headers: f.auth).status == 200)
    }
    // Walks every page of `path` two at a time: the names in order, and each page's size.
    func walk(_ path: String, _ field: String) throws -> (names: [String], pages: [Int]) {
        var names: [String] = []
        var pages: [Int] = []
        var cursor: String?
        repeat {
            let query = cursor.map { "&cursor=\($0)" } ?? ""
            let page = try c.call("GET", "\(path)?limit=2\(query)", headers: f.auth)
            #expect(page.status == 200)
            names += page.list.compactMap { $0[field] as? String }
            pages.append(page.list.count)
            cursor = page.json["nextCursor"] as? String
        } while cursor != nil && pages.count < 10
        return (names, pages)
    }
    let owners = try walk("/v1/owners", "owner")
    #expect(owners.names == ["org_a", "org_b", "org_c", "org_d", "org_e"] && owners.pages == [2, 2, 1])
    let plans = try walk("/v1/plans", "plan")
    #expect(plans.names == ["basic", "free", "pro"] && plans.pages == [2, 1])
}
