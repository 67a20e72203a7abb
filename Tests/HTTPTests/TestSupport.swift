import Dispatch
import Glibc
import HTTP
import Synchronization
import Testing

/// A responder defined by a closure, so each test states its behaviour inline.
struct TestResponder: HTTPResponder {
    let body: @Sendable (HTTPRequest, @escaping @Sendable (HTTPResponse) -> Void) -> Void

    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        body(request, respond)
    }

    /// Answers 200 at once with the request's body, and its method, path, query and
    /// version in `X-` headers.
    static let echo = TestResponder { request, respond in
        respond(echoResponse(request))
    }

    /// Answers like `echo`, from another thread, after the number of milliseconds the
    /// path ends with (`/delay/250`), like the ledger writer answering after a commit.
    static let delayed = TestResponder { request, respond in
        let milliseconds = Int(request.path.split(separator: "/").last ?? "") ?? 0
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(milliseconds)) {
            respond(echoResponse(request))
        }
    }

    static func echoResponse(_ request: HTTPRequest) -> HTTPResponse {
        HTTPResponse(
            status: 200,
            headers: [
                (name: "X-Method", value: request.method), (name: "X-Path", value: request.path),
                (name: "X-Query", value: request.query), (name: "X-Version", value: request.version.description),
            ],
            body: request.body)
    }
}

/// Keeps what a responder saw, for assertions after the fact.
final class RequestLog: Sendable {
    private let requests = Mutex<[HTTPRequest]>([])

    func record(_ request: HTTPRequest) {
        requests.withLock { $0.append(request) }
    }

    var all: [HTTPRequest] { requests.withLock { $0 } }
}

/// A server on an ephemeral loopback port. Tests call `stop()` in a `defer`, which also
/// keeps the server alive to the end of the test (optimized builds may otherwise end
/// its lifetime after its last use).
final class TestServer {
    let server: HTTPServer
    let port: UInt16

    init(
        _ configuration: HTTPServerConfiguration = HTTPServerConfiguration(),
        responder: any HTTPResponder = TestResponder.echo
    )
        throws
    {
        server = HTTPServer(configuration: configuration, responder: responder)
        port = try server.bindTCP(host: "127.0.0.1", port: 0)
        try server.start()
    }

    func stop() {
        server.shutdown()
    }

    func connect() throws -> TestClient {
        try TestClient.tcp(port: port)
    }
}

/// Monotonic seconds, for measuring how long something took.
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// Polls `condition` every 10 ms for up to `seconds`.
func eventually(within seconds: Double = 2, _ condition: () -> Bool) -> Bool {
    let deadline = monotonicSeconds() + seconds
    while monotonicSeconds() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

/// The timeout tests lean on `eventually`: it must see a condition that turns true and
/// give up (false) once the deadline passes, not before.
@Test func eventuallySeesALateConditionAndGivesUpAtTheDeadline() {
    let start = monotonicSeconds()
    #expect(eventually(within: 2) { monotonicSeconds() - start > 0.05 })
    let before = monotonicSeconds()
    #expect(!eventually(within: 0.1) { false })
    #expect(monotonicSeconds() - before >= 0.1)
}
