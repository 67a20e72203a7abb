import Glibc
import HTTP
import Testing

@Suite("Unix socket")
struct UnixSocketTests {
    /// A fresh private directory for socket files.
    static func temporaryDirectory() throws -> String {
        var template = Array("/tmp/keyledger-http-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TestClientError.system("mkdtemp")
        }
        return String(cString: made)
    }

    @Test func servesWithMode0600AndReportsThePeerProcess() throws {
        let directory = try Self.temporaryDirectory()
        defer { rmdir(directory) }
        let path = directory + "/api.sock"
        let log = RequestLog()
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(),
            responder: TestResponder { request, respond in
                log.record(request)
                respond(TestResponder.echoResponse(request))
            })
        try server.bindUnix(path: path)
        try server.start()

        var status = stat()
        #expect(lstat(path, &status) == 0)
        #expect(status.st_mode & S_IFMT == S_IFSOCK)
        #expect(status.st_mode & 0o777 == 0o600)

        let client = try TestClient.unix(path: path)
        try client.send("POST /local HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\nhi")
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.text == "hi")
        #expect(log.all.first?.peer == .unix(pid: getpid(), uid: getuid()))

        server.shutdown()
        #expect(access(path, F_OK) != 0, "the socket file is removed at shutdown")
    }

    @Test func staleSocketFileIsReplacedAndALiveOneIsNot() throws {
        let directory = try Self.temporaryDirectory()
        defer { rmdir(directory) }
        let path = directory + "/api.sock"

        // A socket file nobody listens on, as a crashed server leaves behind.
        let stale = HTTPServer(configuration: HTTPServerConfiguration(), responder: TestResponder.echo)
        try stale.bindUnix(path: path)
        let orphan = open(directory, O_RDONLY)
        defer { close(orphan) }
        let leftover = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        unlink(path)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (offset, byte) in path.utf8.enumerated() { raw[offset] = byte }
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(leftover, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        close(leftover)
        stale.shutdown()

        let server = HTTPServer(configuration: HTTPServerConfiguration(), responder: TestResponder.echo)
        try server.bindUnix(path: path)
        try server.start()
        let client = try TestClient.unix(path: path)
        try client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try client.readResponse().status == 200)

        let rival = HTTPServer(configuration: HTTPServerConfiguration(), responder: TestResponder.echo)
        #expect {
            try rival.bindUnix(path: path)
        } throws: { error in
            (error as? HTTPServerError)?.errno == EADDRINUSE
        }
        server.shutdown()
    }

    @Test func existingRegularFileIsNotReplaced() throws {
        let directory = try Self.temporaryDirectory()
        let path = directory + "/not-a-socket"
        let file = creat(path, 0o644)
        close(file)
        defer {
            unlink(path)
            rmdir(directory)
        }
        let server = HTTPServer(configuration: HTTPServerConfiguration(), responder: TestResponder.echo)
        #expect {
            try server.bindUnix(path: path)
        } throws: { error in
            (error as? HTTPServerError)?.errno == EEXIST
        }
        #expect(access(path, F_OK) == 0)
    }
}
