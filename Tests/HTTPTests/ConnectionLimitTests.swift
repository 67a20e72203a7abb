import Glibc
import HTTP
import Testing

@Suite("Connection cap")
struct ConnectionLimitTests {
    @Test func connectionOverTheCapGets503AndIsClosed() throws {
        let server = try TestServer(HTTPServerConfiguration(maxConnections: 2))
        defer { server.stop() }
        var open: [TestClient] = []
        for _ in 0..<2 {
            let client = try server.connect()
            try client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            open.append(client)
        }
        withExtendedLifetime(open) {
            #expect(server.server.openConnectionCount == 2)
        }

        let refused = try server.connect()
        let response = try refused.readResponse()
        #expect(response.status == 503)
        #expect(response.header("Connection") == "close")
        #expect(refused.readUntilClosed() != nil)

        // Once a slot frees up, new connections are served again.
        open.removeFirst()
        #expect(eventually { server.server.openConnectionCount == 1 })
        let again = try server.connect()
        try again.send("GET /again HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try again.readResponse().status == 200)
        withExtendedLifetime(open) {}
    }

    @Test func unixSocketAnswersWhileEveryTCPSlotIsHeld() throws {
        let directory = try UnixSocketTests.temporaryDirectory()
        defer { rmdir(directory) }
        let path = directory + "/api.sock"
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(maxConnections: 2, maxSocketConnections: 1),
            responder: TestResponder.echo)
        let port = try server.bindTCP(host: "127.0.0.1", port: 0)
        try server.bindUnix(path: path)
        try server.start()
        defer { server.shutdown() }

        // Connections that send nothing hold every TCP slot.
        let silent = try (0..<2).map { _ in try TestClient.tcp(port: port) }
        #expect(eventually { server.openConnectionCount == 2 })
        let refused = try TestClient.tcp(port: port)
        #expect(try refused.readResponse().status == 503)

        let local = try TestClient.unix(path: path)
        try local.send("GET /admin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try local.readResponse().header("X-Path") == "/admin")

        // The socket's own capacity is capped too.
        let secondLocal = try TestClient.unix(path: path)
        #expect(try secondLocal.readResponse().status == 503)
        withExtendedLifetime(silent) {}
    }

    @Test func perAddressCapRefusesOneAddressAndLetsAnotherIn() throws {
        let server = try TestServer(HTTPServerConfiguration(maxConnections: 10, maxConnectionsPerAddress: 2))
        defer { server.stop() }
        let held = try (0..<2).map { _ in try TestClient.tcp(port: server.port) }
        #expect(eventually { server.server.openConnectionCount == 2 })

        let third = try TestClient.tcp(port: server.port)
        let response = try third.readResponse()
        #expect(response.status == 503)
        #expect(response.text.contains("client address"))

        let other = try TestClient.tcp(port: server.port, source: "127.0.0.2")
        try other.send("GET /other HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try other.readResponse().header("X-Path") == "/other")

        // A closed connection gives its address a slot back.
        held[0].close()
        #expect(eventually { server.server.openConnectionCount == 2 })
        let again = try TestClient.tcp(port: server.port)
        try again.send("GET /again HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try again.readResponse().header("X-Path") == "/again")
        withExtendedLifetime(held) {}
    }
}
