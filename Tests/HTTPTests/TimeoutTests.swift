import Dispatch
import Glibc
import HTTP
import Synchronization
import Testing

@Suite("Timeouts")
struct TimeoutTests {
    /// Sends `bytes` one at a time every `interval` on another thread until told to stop
    /// or the server closes; `wait()` returns when it has finished.
    final class Drip: Sendable {
        private let stopped = Atomic<Bool>(false)
        private let finished = Atomic<Bool>(false)

        init(fd: Int32, bytes: [UInt8], interval: Duration) {
            let milliseconds = UInt32(
                interval.components.seconds * 1000 + interval.components.attoseconds / 1_000_000_000_000_000)
            DispatchQueue.global().async { [self] in
                for byte in bytes where !stopped.load(ordering: .relaxed) {
                    var value = byte
                    if Glibc.send(fd, &value, 1, Int32(MSG_NOSIGNAL)) != 1 { break }
                    usleep(milliseconds * 1000)
                }
                finished.store(true, ordering: .releasing)
            }
        }

        func stopAndWait() {
            stopped.store(true, ordering: .relaxed)
            while !finished.load(ordering: .acquiring) { usleep(1000) }
        }
    }

    @Test func slowHeadIsCutOffWith408() throws {
        let server = try TestServer(HTTPServerConfiguration(headerTimeout: .milliseconds(500)))
        defer { server.stop() }
        let client = try server.connect()
        let start = monotonicSeconds()
        let drip = Drip(
            fd: client.fd, bytes: Array("GET / HTTP/1.1\r\nHost: h\r\nX-Slow: abcdefghijklmnopqrstuvwxyz\r\n\r\n".utf8),
            interval: .milliseconds(100))
        defer { drip.stopAndWait() }
        let response = try client.readResponse()
        let elapsed = monotonicSeconds() - start
        #expect(response.status == 408)
        #expect(response.header("Connection") == "close")
        #expect(elapsed > 0.45 && elapsed < 1.5, "cut off after \(elapsed) s")
        drip.stopAndWait()
        #expect(client.readUntilClosed() != nil)
    }

    @Test func slowBodyIsCutOffWith408() throws {
        let server = try TestServer(HTTPServerConfiguration(bodyTimeout: .milliseconds(400)))
        defer { server.stop() }
        let client = try server.connect()
        let start = monotonicSeconds()
        try client.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nab")
        let response = try client.readResponse()
        let elapsed = monotonicSeconds() - start
        #expect(response.status == 408)
        #expect(elapsed > 0.35 && elapsed < 1.5, "cut off after \(elapsed) s")
        #expect(client.readUntilClosed() != nil)
    }

    @Test func idleKeepAliveConnectionIsClosedSilently() throws {
        let server = try TestServer(HTTPServerConfiguration(idleTimeout: .milliseconds(300)))
        defer { server.stop() }
        let client = try server.connect()
        try client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try client.readResponse().status == 200)
        let start = monotonicSeconds()
        #expect(client.isClosedByServer())
        let elapsed = monotonicSeconds() - start
        #expect(elapsed > 0.25 && elapsed < 1.5, "closed after \(elapsed) s")
        #expect(eventually { server.server.openConnectionCount == 0 })
    }

    @Test func connectionThatNeverSpeaksIsClosedAfterTheHeaderTimeout() throws {
        let server = try TestServer(
            HTTPServerConfiguration(headerTimeout: .milliseconds(300), idleTimeout: .seconds(60)))
        defer { server.stop() }
        let silent = try server.connect()
        let blank = try server.connect()
        // Empty lines before a request line are allowed, but they are not a request.
        try blank.send("\r\n\r\n")
        #expect(silent.isClosedByServer())
        #expect(blank.isClosedByServer())
    }

    @Test func slowResponderIsNotCutOffByTheIdleTimeout() throws {
        let server = try TestServer(
            HTTPServerConfiguration(idleTimeout: .milliseconds(200)), responder: TestResponder.delayed)
        defer { server.stop() }
        let client = try server.connect()
        try client.send("GET /delay/600 HTTP/1.1\r\nHost: h\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.header("X-Path") == "/delay/600")
    }

    @Test func clientThatStopsReadingIsDropped() throws {
        let body = [UInt8](repeating: 0x61, count: 48 << 20)
        let server = try TestServer(
            HTTPServerConfiguration(writeTimeout: .milliseconds(300)),
            responder: TestResponder { _, respond in respond(HTTPResponse(status: 200, body: body)) })
        defer { server.stop() }
        let client = try server.connect()
        try client.send("GET /huge HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(eventually(within: 3) { server.server.openConnectionCount == 0 })
    }
}
