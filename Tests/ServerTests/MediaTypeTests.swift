import Testing

/// A request body is JSON: one sent under another `Content-Type` is refused with 415
/// before anything is decided or recorded (API.md, "Envelope").
@Test(
    arguments: [
        ("application/x-www-form-urlencoded", 415),
        ("text/plain", 415),
        ("application/jsonx", 415),
        ("multipart/form-data; boundary=x", 415),
        ("application/json", 201),
        ("application/json; charset=utf-8", 201),
        ("Application/JSON", 201),
        (nil, 201),
    ] as [(String?, Int)])
func aBodyThatIsNotDeclaredJSONIsRefused(contentType: String?, status: Int) throws {
    let f = try ServerFixture()
    let c = try f.client()
    let before = f.eventCount
    let body = #"{"owner":"org_42","name":"CRM Sync"}"#
    var text = "POST /v1/keys HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(f.root)\r\n"
    if let contentType { text += "Content-Type: \(contentType)\r\n" }
    text += "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    c.send(Array(text.utf8))
    let r = try c.read()
    #expect(r.status == status)
    if status == 415 {
        #expect(r.errorCode == "UNSUPPORTED_MEDIA_TYPE")
        #expect(f.eventCount == before)
    } else {
        #expect(f.eventCount == before + 1)
    }
}

/// The gateway's verify call follows the same rule; an empty body with any type is
/// judged by the route (here: the body is required).
@Test func verifyRefusesAFormBodyAndAnEmptyBodyIsNotAMediaTypeError() throws {
    let f = try ServerFixture()
    let c = try f.client()
    let body = #"{"key":"sk_live_x"}"#
    c.send(
        Array(
            "POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                .utf8))
    let refused = try c.read()
    #expect(refused.status == 415 && refused.errorCode == "UNSUPPORTED_MEDIA_TYPE")
    c.send(Array("POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n".utf8))
    let empty = try c.read()
    #expect(empty.status == 400 && empty.errorCode == "INVALID_REQUEST")
}
