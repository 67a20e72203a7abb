import Glibc
import Testing

/// Why a test client call failed.
struct TestClientError: Error, CustomStringConvertible {
    var description: String

    static func system(_ operation: String) -> Self {
        Self(description: "\(operation): \(String(cString: strerror(errno)))")
    }
}

/// A response as a test client read it off the wire.
struct TestResponse {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// A blocking socket client that speaks raw bytes, so tests control exactly what the
/// server receives. Reads time out after `timeout` seconds instead of hanging a test.
final class TestClient {
    private(set) var fd: Int32
    private var buffer: [UInt8] = []

    /// - Parameters:
    ///   - source: an IPv4 address to connect from (e.g. `"127.0.0.2"`), to play a second client.
    ///   - receiveBuffer: the socket's `SO_RCVBUF`, so that little of what the server writes
    ///     fits in the kernel for a client that does not read.
    static func tcp(
        port: UInt16, host: String = "127.0.0.1", timeout: Double = 5, source: String? = nil,
        receiveBuffer: Int32? = nil
    ) throws -> TestClient {
        let isV6 = host.contains(":")
        let fd = socket(isV6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestClientError.system("socket") }
        let client = TestClient(fd: fd, timeout: timeout)
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        if let source {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &address.sin_addr)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else { throw TestClientError.system("bind \(source)") }
        }
        var result: Int32
        if isV6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            inet_pton(AF_INET6, host, &address.sin6_addr)
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            inet_pton(AF_INET, host, &address.sin_addr)
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard result == 0 else { throw TestClientError.system("connect") }
        return client
    }

    static func unix(path: String, timeout: Double = 5) throws -> TestClient {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestClientError.system("socket") }
        let client = TestClient(fd: fd, timeout: timeout)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (offset, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[offset] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else { throw TestClientError.system("connect") }
        return client
    }

    private init(fd: Int32, timeout: Double) {
        self.fd = fd
        setTimeout(timeout)
    }

    deinit {
        close()
    }

    /// Closes the socket now rather than when the client is released.
    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    func setTimeout(_ seconds: Double) {
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
            }
            guard count > 0 else { throw TestClientError.system("send") }
            sent += count
        }
    }

    /// Reads more bytes into the buffer; false at end of stream.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
        if count == 0 { return false }
        guard count > 0 else { throw TestClientError.system("recv") }
        buffer.append(contentsOf: chunk[0..<count])
        return true
    }

    /// Reads one response. `bodyless`: the request was HEAD, so no body follows.
    func readResponse(bodyless: Bool = false) throws -> TestResponse {
        var headEnd: Int?
        while headEnd == nil {
            if let range = findHeadEnd() {
                headEnd = range
                break
            }
            guard try fill() else { throw TestClientError(description: "connection closed before a response head") }
        }
        guard let end = headEnd else { throw TestClientError(description: "no head") }
        let head = String(decoding: buffer[0..<end], as: UTF8.self)
        buffer.removeFirst(end)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: true)
        guard !lines.isEmpty else { throw TestClientError(description: "empty head") }
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, statusLine[0] == "HTTP/1.1", let status = Int(statusLine[1]) else {
            throw TestClientError(description: "bad status line in \(head)")
        }
        let headers = lines.map { line -> (name: String, value: String) in
            let parts = line.split(separator: ":", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? String(parts[1].drop { $0 == " " }) : "")
        }
        var response = TestResponse(status: status, headers: headers, body: [])
        guard !bodyless, status >= 200, status != 204, status != 304 else { return response }
        guard let lengthText = response.header("Content-Length"), let length = Int(lengthText) else {
            throw TestClientError(description: "no Content-Length in \(head)")
        }
        while buffer.count < length {
            guard try fill() else { throw TestClientError(description: "connection closed inside a body") }
        }
        response.body = Array(buffer[0..<length])
        buffer.removeFirst(length)
        return response
    }

    /// Reads until the server closes; returns what arrived, or nil on timeout.
    func readUntilClosed() -> [UInt8]? {
        while true {
            do {
                if try !fill() {
                    defer { buffer = [] }
                    return buffer
                }
            } catch {
                return errno == ECONNRESET ? buffer : nil
            }
        }
    }

    /// Whether the server closed the connection (EOF or reset) with nothing more sent.
    func isClosedByServer() -> Bool {
        guard let rest = readUntilClosed() else { return false }
        return rest.isEmpty
    }

    private func findHeadEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for index in 0...(buffer.count - 4)
        where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
            return index + 4
        }
        return nil
    }
}

/// The HTTP tests lean on TestClient failing loudly: connecting where nothing listens
/// throws, and so does reading a response from a server that closed without one.
@Test func testClientThrowsOnRefusalAndOnAClosedConnection() throws {
    let server = try TestServer(responder: TestResponder { _, _ in })
    let port = server.port
    let client = try server.connect()
    server.stop()
    #expect(throws: TestClientError.self) { _ = try client.readResponse() }
    client.close()
    #expect(throws: TestClientError.self) { _ = try TestClient.tcp(port: port) }
}
