import Testing

/// The console page and each of its assets: the right media type, the security headers
/// that keep its credential in the page (no framing, no other origins, no sniffing), and
/// no credential needed to load them.
@Test(arguments: [
    ("/console", "text/html; charset=utf-8", "<!doctype html>"),
    ("/console/", "text/html; charset=utf-8", "<!doctype html>"),
    ("/console/app.css", "text/css; charset=utf-8", ":root"),
    ("/console/app.js", "application/javascript; charset=utf-8", "\"use strict\""),
    ("/console/keys.js", "application/javascript; charset=utf-8", "KL.views.keys"),
    ("/console/usage.js", "application/javascript; charset=utf-8", "KL.views.usage"),
    ("/console/audit.js", "application/javascript; charset=utf-8", "KL.views.audit"),
])
func theConsoleIsServedWithItsSecurityHeaders(path: String, contentType: String, contains: String) throws {
    let f = try ServerFixture()
    let r = try f.client().call("GET", path)
    #expect(r.status == 200)
    #expect(r.headers["content-type"] == contentType)
    #expect(
        r.headers["content-security-policy"]
            == "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
    #expect(r.headers["x-content-type-options"] == "nosniff")
    #expect(r.headers["referrer-policy"] == "no-referrer")
    #expect(r.headers["cache-control"] == "no-cache")
    #expect(String(decoding: r.body, as: UTF8.self).contains(contains))
}

/// The page loads only files the server has: every script and style it names is served.
@Test func everyAssetThePageNamesIsServed() throws {
    let f = try ServerFixture()
    let c = try f.client()
    let page = String(decoding: try c.call("GET", "/console").body, as: UTF8.self)
    let named = page.split(separator: "\"").map(String.init).filter { $0.hasPrefix("/console/") }
    #expect(named.count == 5)
    for path in named { #expect(try c.call("GET", path).status == 200, "\(path)") }
}

/// A browser revalidating an unchanged asset gets 304 without the body; an unknown asset
/// is 404, another method 405, and a query parameter 400, as on every route.
@Test func revalidationAndRefusals() throws {
    let f = try ServerFixture()
    let c = try f.client()
    let first = try c.call("GET", "/console/app.js")
    let etag = try #require(first.headers["etag"])
    let again = try c.call("GET", "/console/app.js", headers: ["If-None-Match": etag])
    #expect(again.status == 304 && again.body.isEmpty && again.headers["etag"] == etag)
    #expect(try c.call("GET", "/console/app.js", headers: ["If-None-Match": "\"other\""]).status == 200)
    #expect(try c.call("GET", "/console/secrets.txt").status == 404)
    #expect(try c.call("POST", "/console", json: "{}").status == 405)
    #expect(try c.call("GET", "/console?token=x").errorCode == "INVALID_REQUEST")
}
