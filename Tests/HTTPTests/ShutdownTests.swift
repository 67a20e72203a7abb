import Dispatch
import Glibc
import HTTP
import Synchronization
import Testing

@Suite("Graceful shutdown")
struct ShutdownTests {
    @Test func inFlightResponseIsWrittenThenNewConnectionsAreRefused() throws {
        let log = RequestLog()
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(),
            responder: TestResponder { request, respond in
                log.record(request)
                TestResponder.delayed.body(request, respond)
            })
        let port = try server.bindTCP(host: "127.0.0.1", port: 0)
        try server.start()

        let idle = try TestClient.tcp(port: port)
        try idle.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try idle.readResponse().status == 200)

        let busy = try TestClient.tcp(port: port)
        try busy.send("POST /delay/400 HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nlate")
        #expect(eventually { log.all.count == 2 })

        let shutdownReturned = Atomic<Bool>(false)
        let finished = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            server.shutdown()
            shutdownReturned.store(true, ordering: .relaxed)
            finished.signal()
        }
        // The idle connection is closed at once, without a response.
        #expect(idle.isClosedByServer())

        let response = try busy.readResponse()
        #expect(response.status == 200)
        #expect(response.text == "late")
        #expect(response.header("Connection") == "close")
        #expect(busy.isClosedByServer())
        busy.close()

        #expect(finished.wait(timeout: .now() + 1) == .success, "shutdown returns once the connection is closed")
        let returned = shutdownReturned.load(ordering: .relaxed)
        #expect(returned)
        #expect(server.openConnectionCount == 0)
        #expect(throws: TestClientError.self) { try TestClient.tcp(port: port) }
        server.waitUntilStopped()
    }

    @Test func unansweredRequestIsCutOffWhenTheGraceRunsOut() throws {
        let log = RequestLog()
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(shutdownGrace: .milliseconds(300)),
            responder: TestResponder { request, _ in log.record(request) })
        let port = try server.bindTCP(host: "127.0.0.1", port: 0)
        try server.start()
        let client = try TestClient.tcp(port: port)
        try client.send("GET /never HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(eventually { log.all.count == 1 })

        let start = monotonicSeconds()
        server.shutdown()
        let elapsed = monotonicSeconds() - start
        #expect(elapsed > 0.25 && elapsed < 2, "shutdown took \(elapsed) s")
        #expect(server.openConnectionCount == 0)
        #expect(client.isClosedByServer())
    }

    @Test func waitUntilStoppedReturnsAfterShutdownFromAnotherThread() throws {
        let server = HTTPServer(configuration: HTTPServerConfiguration(), responder: TestResponder.echo)
        _ = try server.bindTCP(host: "127.0.0.1", port: 0)
        try server.start()
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(50)) { server.shutdown() }
        server.waitUntilStopped()
        server.shutdown()
    }

    @Test func shutdownFromAResponderDoesNotDeadlock() throws {
        let holder = Mutex<HTTPServer?>(nil)
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(),
            responder: TestResponder { request, respond in
                respond(TestResponder.echoResponse(request))
                holder.withLock { $0 }?.shutdown()
            })
        holder.withLock { $0 = server }
        let port = try server.bindTCP(host: "127.0.0.1", port: 0)
        try server.start()
        let client = try TestClient.tcp(port: port)
        try client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.header("Connection") == "close")
        client.close()
        server.waitUntilStopped()
        holder.withLock { $0 = nil }
    }
}
