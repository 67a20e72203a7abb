import Glibc
import HTTP
import Synchronization
import Testing

@Suite("Output backpressure")
struct BackpressureTests {
    /// A client that pipelines requests and reads none of the answers: the server stops
    /// taking its requests once the unsent answers pass the bound, instead of answering
    /// all of them into memory; once the client reads, every answer arrives, in order.
    @Test func clientThatDoesNotReadIsNotServedFurtherUntilItReads() throws {
        let count = 1000
        let body = [UInt8](repeating: 0x61, count: 32 * 1024)
        let seen = Atomic<Int>(0)
        let server = try TestServer(
            HTTPServerConfiguration(maxPipelinedRequests: 4, maxUnsentResponses: 8, maxUnsentBytes: 64 * 1024),
            responder: TestResponder { request, respond in
                seen.add(1, ordering: .relaxed)
                respond(HTTPResponse(status: 200, headers: [(name: "X-Path", value: request.path)], body: body))
            })
        defer { server.stop() }
        // A small receive window, so that the kernel holds few of the answers either.
        let client = try TestClient.tcp(port: server.port, receiveBuffer: 16 * 1024)
        try client.send((0..<count).map { "GET /\($0) HTTP/1.1\r\nHost: h\r\n\r\n" }.joined())

        // Wait until the server has stopped taking requests (no new one for 300 ms).
        var last = -1
        let settled = eventually(within: 5) {
            let now = seen.load(ordering: .relaxed)
            defer { last = now }
            guard now == last else { return false }
            usleep(300_000)
            return seen.load(ordering: .relaxed) == now
        }
        #expect(settled)
        // What the server wrote is in the kernel (a few MB at most) or in its bounded
        // output; without the bound it answers all 1,000 (32 MB) into memory.
        let taken = seen.load(ordering: .relaxed)
        #expect(taken < count / 2, "the server took \(taken) of \(count) requests from a client that reads nothing")

        for index in 0..<count {
            let response = try client.readResponse()
            #expect(response.header("X-Path") == "/\(index)")
            #expect(response.body.count == body.count)
        }
        #expect(seen.load(ordering: .relaxed) == count)
    }
}
