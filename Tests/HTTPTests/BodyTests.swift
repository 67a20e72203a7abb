import HTTP
import Testing

@Suite("Request bodies")
struct BodyTests {
    @Test func chunkedBodyIsDecodedWithExtensionsAndTrailers() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.connect()
        try client.send("POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
        try client.send("5 ;name=value\r\nhello\r\n")
        try client.send("0")
        try client.send("F\r\n, chunked world\r\n0\r\nX-Trailer: t\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.text == "hello, chunked world")
        // The connection is still in step: a second request works.
        try client.send("GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try client.readResponse().header("X-Path") == "/next")
    }

    @Test func chunkedBodyOverTheLimitIs413() throws {
        let server = try TestServer(HTTPServerConfiguration(maxBodyBytes: 10))
        defer { server.stop() }
        let client = try server.connect()
        try client.send("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n")
        let response = try client.readResponse()
        #expect(response.status == 413)
        #expect(response.header("Connection") == "close")
        #expect(client.readUntilClosed() != nil)
    }

    @Test func contentLengthWithTransferEncodingIs400() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.connect()
        try client.send(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 400)
        #expect(response.header("Connection") == "close")
        #expect(client.readUntilClosed() != nil)
    }

    @Test(arguments: ["gzip", "gzip, chunked", "identity"])
    func transferCodingOtherThanChunkedIs501(coding: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.connect()
        try client.send("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \(coding)\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 501)
        #expect(response.header("Connection") == "close")
    }

    @Test func declaredBodyOverTheLimitIs413BeforeTheBodyIsSent() throws {
        let log = RequestLog()
        let server = try TestServer(
            HTTPServerConfiguration(maxBodyBytes: 1024),
            responder: TestResponder { request, respond in
                log.record(request)
                respond(HTTPResponse(status: 200))
            })
        defer { server.stop() }
        let client = try server.connect()
        // The client sends the head only and waits: the answer must come without the body.
        try client.send("POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 413)
        #expect(response.header("Connection") == "close")
        #expect(response.text.contains("1024"))
        #expect(client.readUntilClosed() != nil)
        #expect(log.all.isEmpty)
    }

    @Test func expectContinueIsInvitedWhenTheBodyFits() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.connect()
        try client.send("POST /e HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        let interim = try client.readResponse()
        #expect(interim.status == 100)
        try client.send("body")
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.text == "body")
    }

    @Test func expectContinueWithABodyOverTheLimitGets413Instead() throws {
        let server = try TestServer(HTTPServerConfiguration(maxBodyBytes: 10))
        defer { server.stop() }
        let client = try server.connect()
        try client.send("POST /e HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n")
        #expect(try client.readResponse().status == 413)
    }

    @Test func bodyAtExactlyTheLimitIsAccepted() throws {
        let server = try TestServer(HTTPServerConfiguration(maxBodyBytes: 100_000))
        defer { server.stop() }
        let client = try server.connect()
        let body = [UInt8](repeating: UInt8(ascii: "x"), count: 100_000)
        try client.send(Array("PUT /full HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n".utf8) + body)
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.body == body)
    }
}
