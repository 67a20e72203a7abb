import Glibc
import HTTP
import Synchronization
import Testing

@Suite("Requests and responses")
struct BasicRequestTests {
    @Test func getIsAnsweredWithFramingHeaders() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.connect()
        try client.send("GET /v1/keys/abc?limit=5&x=%20 HTTP/1.1\r\nHost: test\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.header("X-Method") == "GET")
        #expect(response.header("X-Path") == "/v1/keys/abc")
        #expect(response.header("X-Query") == "limit=5&x=%20")
        #expect(response.header("X-Version") == "HTTP/1.1")
        #expect(response.header("Content-Length") == "0")
        #expect(response.header("Date")?.hasSuffix(" GMT") == true)
        #expect(response.header("Connection") == nil)
    }

    @Test func postBodyWithContentLengthReachesTheResponder() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.connect()
        try client.send("POST /v1/verify HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\n\r\nhello")
        try client.send(" world")
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.header("X-Method") == "POST")
        #expect(response.text == "hello world")
    }

    @Test func headersArriveInOrderAndAreFoundWithoutRegardToCase() throws {
        let log = RequestLog()
        let server = try TestServer(
            responder: TestResponder { request, respond in
                log.record(request)
                respond(HTTPResponse(status: 204))
            })
        defer { server.stop() }
        let client = try server.connect()
        try client.send("GET / HTTP/1.1\r\nHost: h\r\nX-Api-Key:  sk_live_1 \r\nx-two: a\r\nX-Two: b\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 204)
        #expect(response.header("Content-Length") == nil)
        let request = try #require(log.all.first)
        #expect(request.headers["x-api-key"] == "sk_live_1")
        #expect(request.headers["X-TWO"] == "a")
        #expect(request.headers["missing"] == nil)
        #expect(request.headers.fields.map(\.name) == ["Host", "X-Api-Key", "x-two", "X-Two"])
        #expect(request.headers.fields.map(\.value) == ["h", "sk_live_1", "a", "b"])
        #expect(request.peer == .tcp(address: "127.0.0.1"))
        #expect(request.receivedAtNanos > 0)
    }

    @Test func keepAliveServesSeveralRequestsOnOneConnection() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.connect()
        for index in 0..<5 {
            try client.send("POST /n/\(index) HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n\(index)")
            let response = try client.readResponse()
            #expect(response.header("X-Path") == "/n/\(index)")
            #expect(response.text == "\(index)")
        }
        #expect(server.server.openConnectionCount == 1)
    }

    @Test func headResponseCarriesLengthButNoBody() throws {
        let server = try TestServer(
            responder: TestResponder { _, respond in respond(HTTPResponse(status: 200, body: Array("hello".utf8))) })
        defer { server.stop() }
        let client = try server.connect()
        try client.send("HEAD / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
        let head = try client.readResponse(bodyless: true)
        #expect(head.status == 200)
        #expect(head.header("Content-Length") == "5")
        // Had the body been sent after the HEAD response, this would read "hello" as a head.
        let get = try client.readResponse()
        #expect(get.status == 200)
        #expect(get.text == "hello")
    }

    @Test func http10WithoutKeepAliveIsClosedAfterTheResponse() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.connect()
        try client.send("GET /old HTTP/1.0\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.header("X-Version") == "HTTP/1.0")
        #expect(response.header("Connection") == "close")
        #expect(client.isClosedByServer())
    }

    @Test func http10WithKeepAliveStaysOpen() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.connect()
        for _ in 0..<2 {
            try client.send("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.header("Connection") == "keep-alive")
        }
    }

    @Test func connectionCloseFromTheClientIsHonoured() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.connect()
        try client.send("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.header("Connection") == "close")
        #expect(client.isClosedByServer())
    }

    @Test func connectionCloseFromTheResponderClosesAfterItsResponse() throws {
        let server = try TestServer(
            responder: TestResponder { _, respond in
                respond(HTTPResponse(status: 200, headers: [(name: "Connection", value: "close")]))
            })
        defer { server.stop() }
        let client = try server.connect()
        try client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.header("Connection") == "close")
        #expect(client.isClosedByServer())
    }

    @Test func serverOwnsFramingHeadersAndDropsUnsafeOnes() throws {
        let server = try TestServer(
            responder: TestResponder { _, respond in
                respond(
                    HTTPResponse(
                        status: 201,
                        headers: [
                            (name: "Content-Length", value: "999"), (name: "Transfer-Encoding", value: "chunked"),
                            (name: "X-Evil", value: "a\r\nSet-Cookie: b"), (name: "X-Good", value: "yes"),
                        ],
                        body: Array("ok".utf8)))
            })
        defer { server.stop() }
        let client = try server.connect()
        try client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 201)
        #expect(response.header("Content-Length") == "2")
        #expect(response.header("Transfer-Encoding") == nil)
        #expect(response.header("X-Evil") == nil)
        #expect(response.header("Set-Cookie") == nil)
        #expect(response.header("X-Good") == "yes")
        #expect(response.text == "ok")
    }

    @Test func absoluteFormTargetIsReducedToItsPath() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.connect()
        try client.send("GET http://example.com/a/b?c=d HTTP/1.1\r\nHost: example.com\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.header("X-Path") == "/a/b")
        #expect(response.header("X-Query") == "c=d")
    }

    @Test func ipv6LoopbackIsServed() throws {
        let server = HTTPServer(configuration: HTTPServerConfiguration(), responder: TestResponder.echo)
        defer { server.shutdown() }
        let port: UInt16
        do {
            port = try server.bindTCP(host: "[::1]", port: 0)
        } catch {
            // No IPv6 on this host: nothing to test.
            return
        }
        try server.start()
        let client = try TestClient.tcp(port: port, host: "::1")
        try client.send("GET /six HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try client.readResponse().header("X-Path") == "/six")
    }

    @Test func bindRejectsHostNamesAndBindingAfterStart() throws {
        let server = HTTPServer(configuration: HTTPServerConfiguration(), responder: TestResponder.echo)
        defer { server.shutdown() }
        #expect(throws: HTTPServerError.self) { try server.bindTCP(host: "localhost", port: 0) }
        #expect(throws: HTTPServerError.self) { try server.start() }
        _ = try server.bindTCP(host: "127.0.0.1", port: 0)
        try server.start()
        #expect(throws: HTTPServerError.self) { try server.bindTCP(host: "127.0.0.1", port: 0) }
        #expect(throws: HTTPServerError.self) { try server.start() }
    }

    @Test func severalEventLoopsServeManyConnections() throws {
        let server = try TestServer(HTTPServerConfiguration(eventLoops: 3), responder: TestResponder.delayed)
        defer { server.stop() }
        let clients = try (0..<12).map { _ in try server.connect() }
        for (index, client) in clients.enumerated() {
            try client.send(
                "POST /delay/\(index % 3 * 20) HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n\(index % 10)!")
        }
        for (index, client) in clients.enumerated() {
            #expect(try client.readResponse().text == "\(index % 10)!")
        }
        withExtendedLifetime(clients) {
            #expect(server.server.openConnectionCount == 12)
        }
    }

    @Test func largeResponseIsWrittenCompletelyAndTheConnectionStaysUsable() throws {
        let body = (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 % 251) }
        let server = try TestServer(
            responder: TestResponder { request, respond in
                respond(HTTPResponse(status: 200, body: request.path == "/big" ? body : []))
            })
        defer { server.stop() }
        let client = try server.connect()
        try client.send("GET /big HTTP/1.1\r\nHost: h\r\n\r\nGET /small HTTP/1.1\r\nHost: h\r\n\r\n")
        let big = try client.readResponse()
        #expect(big.body == body)
        #expect(try client.readResponse().header("Content-Length") == "0")
    }

    @Test func halfClosedClientStillGetsItsResponse() throws {
        let server = try TestServer(responder: TestResponder.delayed)
        defer { server.stop() }
        let client = try server.connect()
        try client.send("GET /delay/100 HTTP/1.1\r\nHost: h\r\n\r\n")
        shutdown(client.fd, Int32(SHUT_WR))
        let response = try client.readResponse()
        #expect(response.header("X-Path") == "/delay/100")
        #expect(client.isClosedByServer())
    }
}
