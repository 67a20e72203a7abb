import Events
import Glibc
import HTTP
import Testing

@Suite("Robustness")
struct RobustnessTests {
    static let seeds: [[UInt8]] = [
        Array("GET /a?b=c HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n".utf8),
        Array("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello".utf8),
        Array(
            "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n".utf8),
        Array("GET http://h/x HTTP/1.0\r\n\r\n".utf8),
    ]

    /// Mutates valid requests (flipped, inserted, deleted and duplicated bytes, sent in
    /// random splits) and checks that every connection gets a well-formed answer or is
    /// closed, and that the server keeps serving.
    @Test func mutatedRequestsNeverBreakTheServer() throws {
        let server = try TestServer(
            HTTPServerConfiguration(
                maxHeaderBytes: 512, maxBodyBytes: 64, headerTimeout: .milliseconds(200),
                bodyTimeout: .milliseconds(200)))
        defer { server.stop() }
        var random = SplitMix64(seed: 42)
        let interesting: [UInt8] = Array("\r\n :;,0Ff-\t\u{0}\u{7F}".utf8) + [0xFF]
        for _ in 0..<300 {
            var bytes = Self.seeds[Int.random(in: 0..<Self.seeds.count, using: &random)]
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let position = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0: bytes[position] = interesting.randomElement(using: &random) ?? 0
                case 1: bytes.insert(interesting.randomElement(using: &random) ?? 0, at: position)
                case 2: bytes.remove(at: position)
                default: bytes.insert(contentsOf: bytes[position..<min(bytes.count, position + 40)], at: position)
                }
                if bytes.isEmpty { bytes = [0x47] }
            }
            let client = try server.connect()
            client.setTimeout(2)
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + Int.random(in: 1...64, using: &random))
                try? client.send(Array(bytes[offset..<end]))
                offset = end
            }
            // End of input: an incomplete request is dropped at once instead of timing out.
            shutdown(client.fd, Int32(SHUT_WR))
            if let response = try? client.readResponse() {
                #expect((100...599).contains(response.status))
            }
        }
        let client = try server.connect()
        try client.send("GET /still-alive HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try client.readResponse().header("X-Path") == "/still-alive")
    }
}
