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
}
