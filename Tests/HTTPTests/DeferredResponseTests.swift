import Dispatch
import Glibc
import HTTP
import Synchronization
import Testing

/// A response rendered on the event loop from what another thread decided.
private final class Rendered: HTTPDeferredResponse {
    let path: String
    let renderedOn = Mutex<String?>(nil)

    init(path: String) { self.path = path }

    func render() -> HTTPResponse {
        renderedOn.withLock { $0 = currentThreadName() }
        return HTTPResponse(status: 200, headers: [("X-Path", path)], body: Array(path.utf8))
    }
}

/// The calling thread's name, from /proc.
private func currentThreadName() -> String {
    let fd = open("/proc/thread-self/comm", O_RDONLY)
    guard fd >= 0 else { return "?" }
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: 32)
    let count = read(fd, &bytes, bytes.count)
    return String(decoding: bytes.prefix(max(count, 0)).filter { $0 != 10 }, as: UTF8.self)
}

/// Answers every request through `HTTPReply`, from another thread, after the number of
/// milliseconds the path ends with, rendering on the loop.
private final class DeferredResponder: HTTPResponder {
    let made = Mutex<[Rendered]>([])

    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        Issue.record("the server should call handle(_:reply:)")
        respond(HTTPResponse(status: 500))
    }

    func handle(_ request: HTTPRequest, reply: HTTPReply) {
        let rendered = Rendered(path: request.path)
        made.withLock { $0.append(rendered) }
        let milliseconds = Int(request.path.split(separator: "/").last ?? "") ?? 0
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(milliseconds)) {
            reply.respond(rendering: rendered)
        }
    }
}

@Suite("Deferred responses")
struct DeferredResponseTests {
    @Test func aDeferredResponseIsRenderedOnTheEventLoopInRequestOrder() throws {
        let responder = DeferredResponder()
        let server = try TestServer(responder: responder)
        defer { server.stop() }
        let client = try server.connect()
        let delays = [120, 0, 60, 5, 0]
        try client.send(delays.map { "GET /d/\($0) HTTP/1.1\r\nHost: h\r\n\r\n" }.joined())
        for delay in delays {
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.header("X-Path") == "/d/\(delay)")
            #expect(response.text == "/d/\(delay)")
        }
        let threads = responder.made.withLock { $0.map { $0.renderedOn.withLock { $0 } } }
        #expect(threads == Array(repeating: "http-loop", count: delays.count))
    }

    @Test func answersPostedWhileTheLoopSleepsOrWorksAllArrive() throws {
        // Many connections answered from other threads at scattered moments: each post
        // either finds the loop asleep (and wakes it) or busy (and is drained before it
        // sleeps); none may be stranded in the mailbox.
        let server = try TestServer(responder: DeferredResponder())
        defer { server.stop() }
        let clients = try (0..<16).map { _ in try server.connect() }
        for round in 0..<20 {
            for (index, client) in clients.enumerated() {
                try client.send("GET /r/\((round * 7 + index * 3) % 4) HTTP/1.1\r\nHost: h\r\n\r\n")
            }
            for (index, client) in clients.enumerated() {
                let response = try client.readResponse()
                #expect(response.header("X-Path") == "/r/\((round * 7 + index * 3) % 4)")
            }
        }
    }
}
