import HTTP
import Testing

@Suite("Malformed requests")
struct MalformedRequestTests {
    static let cases: [(request: String, status: Int)] = [
        ("GET / HTTP/1.1\r\n\r\n", 400),  // no Host on HTTP/1.1
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  folded\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nX-A : 1\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nNo colon here\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\n: empty name\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\u{01}b\r\n\r\n", 400),
        ("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("G@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("GET nopath HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("GET / HTTX/1.1\r\nHost: h\r\n\r\n", 400),
        ("GET / HTTP/1.1x\r\nHost: h\r\n\r\n", 400),
        ("GET /\r\n\r\n", 400),
        ("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
        ("GET / HTTP/3\r\nHost: h\r\n\r\n", 505),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 4\r\n\r\nabcd", 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3 junk\r\nabc\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n", 400),
    ]

    @Test(arguments: cases)
    func isRefusedAndTheConnectionClosed(request: String, status: Int) throws {
        let log = RequestLog()
        let server = try TestServer(
            responder: TestResponder { request, respond in
                log.record(request)
                respond(HTTPResponse(status: 200))
            })
        defer { server.stop() }
        let client = try server.connect()
        try client.send(request)
        let response = try client.readResponse()
        #expect(response.status == status)
        #expect(response.header("Connection") == "close")
        #expect(client.readUntilClosed() != nil)
        #expect(log.all.isEmpty)
    }

    @Test func equalRepeatedContentLengthsAreAccepted() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.connect()
        try client.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n\r\nabc")
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.text == "abc")
    }

    @Test func headBlockOverTheLimitIs431() throws {
        let server = try TestServer(HTTPServerConfiguration(maxHeaderBytes: 1024))
        defer { server.stop() }
        let client = try server.connect()
        let filler = String(repeating: "a", count: 2000)
        // Sent without the final blank line: the server must not wait for the end.
        try client.send("GET / HTTP/1.1\r\nHost: h\r\nX-Filler: \(filler)\r\n")
        let response = try client.readResponse()
        #expect(response.status == 431)
        #expect(response.header("Connection") == "close")
        #expect(client.readUntilClosed() != nil)
    }

    @Test func longRequestTargetCountsTowardTheHeadLimit() throws {
        let server = try TestServer(HTTPServerConfiguration(maxHeaderBytes: 1024))
        defer { server.stop() }
        let client = try server.connect()
        try client.send("GET /\(String(repeating: "p", count: 1100)) HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try client.readResponse().status == 431)
    }

    @Test func headJustUnderTheLimitIsAccepted() throws {
        let server = try TestServer(HTTPServerConfiguration(maxHeaderBytes: 1024))
        defer { server.stop() }
        let client = try server.connect()
        let prefix = "GET / HTTP/1.1\r\nHost: h\r\nX-Filler: "
        let filler = String(repeating: "a", count: 1024 - prefix.utf8.count - 4)
        try client.send(prefix + filler + "\r\n\r\n")
        #expect(try client.readResponse().status == 200)
    }

    @Test func errorsAreRenderedThroughTheConfiguredErrorResponse() throws {
        let configuration = HTTPServerConfiguration(errorResponse: { error in
            HTTPResponse(
                status: error.status, headers: [(name: "Content-Type", value: "application/json")],
                body: Array(#"{"success":false,"error":{"code":"INVALID_REQUEST"}}"#.utf8))
        })
        let server = try TestServer(configuration)
        defer { server.stop() }
        let client = try server.connect()
        try client.send("GET / HTTP/1.1\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 400)
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.text.contains("INVALID_REQUEST"))
    }

    @Test func emptyLinesBeforeARequestAreIgnored() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.connect()
        try client.send("\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try client.readResponse().header("X-Path") == "/x")
    }
}
