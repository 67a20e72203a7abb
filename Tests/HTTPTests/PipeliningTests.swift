import Dispatch
import Glibc
import HTTP
import Synchronization
import Testing

@Suite("Pipelining")
struct PipeliningTests {
    @Test func responsesKeepRequestOrderWhenAnsweredOutOfOrderFromOtherThreads() throws {
        let server = try TestServer(responder: TestResponder.delayed)
        defer { server.stop() }
        let client = try server.connect()
        let delays = [300, 0, 150, 50, 0, 200, 10]
        let requests = delays.enumerated().map { index, delay in
            "POST /delay/\(delay) HTTP/1.1\r\nHost: h\r\nContent-Length: \(String(index).utf8.count)\r\n\r\n\(index)"
        }
        try client.send(requests.joined())
        for (index, delay) in delays.enumerated() {
            let response = try client.readResponse()
            #expect(response.header("X-Path") == "/delay/\(delay)")
            #expect(response.text == "\(index)")
        }
    }

    @Test func pipelinedRequestsAreDispatchedWithoutWaitingForEarlierResponses() throws {
        let seen = Atomic<Int>(0)
        let server = try TestServer(
            responder: TestResponder { request, respond in
                // Answer the first request only once the third has arrived: this only
                // finishes if the server dispatches pipelined requests concurrently.
                seen.add(1, ordering: .relaxed)
                if request.path == "/first" {
                    DispatchQueue.global().async {
                        while seen.load(ordering: .relaxed) < 3 { usleep(1000) }
                        respond(TestResponder.echoResponse(request))
                    }
                } else {
                    respond(TestResponder.echoResponse(request))
                }
            })
        defer { server.stop() }
        let client = try server.connect()
        try client.send(
            "GET /first HTTP/1.1\r\nHost: h\r\n\r\nGET /second HTTP/1.1\r\nHost: h\r\n\r\nGET /third HTTP/1.1\r\nHost: h\r\n\r\n"
        )
        #expect(try client.readResponse().header("X-Path") == "/first")
        #expect(try client.readResponse().header("X-Path") == "/second")
        #expect(try client.readResponse().header("X-Path") == "/third")
    }

    @Test func inFlightRequestsStayWithinThePipeliningLimit() throws {
        let inFlight = Atomic<Int>(0)
        let mostInFlight = Atomic<Int>(0)
        let configuration = HTTPServerConfiguration(maxPipelinedRequests: 2)
        let server = try TestServer(
            configuration,
            responder: TestResponder { request, respond in
                let now = inFlight.add(1, ordering: .relaxed).newValue
                _ = mostInFlight.max(now, ordering: .relaxed)
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(20)) {
                    inFlight.subtract(1, ordering: .relaxed)
                    respond(TestResponder.echoResponse(request))
                }
            })
        defer { server.stop() }
        let client = try server.connect()
        try client.send((0..<8).map { "GET /\($0) HTTP/1.1\r\nHost: h\r\n\r\n" }.joined())
        for index in 0..<8 {
            #expect(try client.readResponse().header("X-Path") == "/\(index)")
        }
        #expect(mostInFlight.load(ordering: .relaxed) <= 2)
    }

    @Test func requestsAfterConnectionCloseAreNotServed() throws {
        let log = RequestLog()
        let server = try TestServer(
            responder: TestResponder { request, respond in
                log.record(request)
                respond(TestResponder.echoResponse(request))
            })
        defer { server.stop() }
        let client = try server.connect()
        try client.send(
            "GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.header("X-Path") == "/a")
        #expect(response.header("Connection") == "close")
        #expect(client.isClosedByServer())
        #expect(log.all.map(\.path) == ["/a"])
    }

    /// The connection writes each request's headers and body into the storage of the
    /// one before once the responder is done with it; a responder that keeps requests
    /// must still see each one's own.
    @Test func requestsKeptByTheResponderKeepTheirHeadersAndBodies() throws {
        let log = RequestLog()
        let server = try TestServer(
            responder: TestResponder { request, respond in
                log.record(request)
                respond(
                    HTTPResponse(status: 200, headers: [("X-Tag", request.headers["X-Tag"] ?? "-")], body: request.body)
                )
            })
        defer { server.stop() }
        let client = try server.connect()
        let bodies = ["a longer first body", "b", "", "the fourth, longer than the third"]
        let requests = bodies.enumerated().map { index, body in
            "POST /\(index) HTTP/1.1\r\nHost: h\r\nX-Tag: tag-\(index)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        }
        for request in requests {
            try client.send(request)
            #expect(try client.readResponse().header("X-Tag") != nil)
        }
        try client.send(requests.joined())
        for (index, body) in bodies.enumerated() {
            let response = try client.readResponse()
            #expect(response.header("X-Tag") == "tag-\(index)")
            #expect(response.text == body)
        }
        let kept = log.all
        #expect(kept.count == 2 * bodies.count)
        for (position, request) in kept.enumerated() {
            let index = position % bodies.count
            #expect(request.headers["X-Tag"] == "tag-\(index)")
            #expect(request.headers.fields.map(\.name) == ["Host", "X-Tag", "Content-Length"])
            #expect(request.body == Array(bodies[index].utf8))
        }
    }

    @Test func longBurstLargerThanTheBuffersIsServedInOrder() throws {
        let server = try TestServer(HTTPServerConfiguration(maxPipelinedRequests: 4), responder: TestResponder.delayed)
        defer { server.stop() }
        let client = try server.connect()
        let count = 300
        let burst = (0..<count).map { "GET /burst/\($0 % 3) HTTP/1.1\r\nHost: h\r\nX-Index: \($0)\r\n\r\n" }
        try client.send(burst.joined())
        for index in 0..<count {
            #expect(try client.readResponse().header("X-Path") == "/burst/\(index % 3)")
        }
    }
}
