import Foundation
import Glibc
import Ledger
import Testing

/// The resident anonymous memory of process `pid` in bytes (`RssAnon` of /proc/PID/status:
/// its heap and stacks, without the pages of the binary and the libraries it maps), or nil.
func anonymousResidentBytes(of pid: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("RssAnon:") }),
        let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
    else { return nil }
    return kilobytes * 1024
}

/// A client pipelines up to 50 MB of requests at a real `keyledger serve` (default limits)
/// and reads none of the answers: the server stops reading once the unsent answers pass
/// its bound, so its heap grows by less than 16 MB (this debug build's anonymous memory
/// goes from about 7 MB at rest to 15 MB under the flood: the unsent answers, the read
/// buffers and what each worker thread's malloc arena keeps) instead of growing with every
/// request, and it keeps serving everyone else. Anonymous memory, not all of RSS: the
/// pages of the binary and of the libraries mapped (about 22 MB) depend on the build and
/// the toolchain, not on what the server keeps.
///
/// The requests list 100 keys, an answer of about 60 KB for 90 bytes asked, so that even
/// this debug build would pass the bound within seconds were it to answer the flood
/// into memory (a `/healthz` flood needs no credential, but grows a debug build too
/// slowly for a test to see). The flood stops as soon as the bound is passed.
@Test func pipelinedFloodThatReadsNothingLeavesTheServerSmall() throws {
    var template = Array("/tmp/keyledger-flood-XXXXXX".utf8CString)
    let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let root = try Ledger.initialize(path: dir)
    // Port 0 and the port the server logs: a port picked at random here may be one the
    // kernel gave another test's connection meanwhile.
    let (server, logPath) = try startKeyledger(["serve", "--data", dir, "--listen", "127.0.0.1:0", "--quiet"])
    defer {
        if server.isRunning { kill(server.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: logPath)
    }
    let port = try #require(try servingPort(logPath), "serve did not start")
    let setup = try RawClient(port: port)
    let auth = ["Authorization": "Bearer \(root)"]
    let note = String(repeating: "n", count: 400)
    for index in 0..<100 {
        let json = #"{"owner":"org_1","name":"flood \#(index)","metadata":{"note":"\#(note)"}}"#
        #expect(try setup.call("POST", "/v1/keys", json: json, headers: auth).status == 201)
    }
    let before = try #require(anonymousResidentBytes(of: server.processIdentifier))

    // Send until 50 MB are out, the server has taken nothing for a second, or its memory
    // passed the bound; then watch its memory for a while.
    let bound = before + (16 << 20)
    let total = 50 << 20
    var sent = 0
    var most = 0
    do {
        let flood = try RawClient(port: port)
        // Its close at the end of this block resets the connection.
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(flood.fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(flood.fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = RawClient.request("GET", "/v1/keys?limit=100", headers: auth)
        let chunk = Array([[UInt8]](repeating: request, count: 16384 / request.count).joined())
        while sent < total && most < bound {
            // Resume where a partial send stopped, so that the stream stays whole requests.
            let offset = sent % chunk.count
            let count = chunk.withUnsafeBytes {
                Glibc.send(flood.fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            guard count > 0 else { break }
            sent += count
            most = max(most, anonymousResidentBytes(of: server.processIdentifier) ?? Int.max)
        }
        // What the kernel holds of the flood, the server would go on answering into memory.
        let watchUntil = Date().addingTimeInterval(5)
        while most < bound && Date() < watchUntil {
            most = max(most, anonymousResidentBytes(of: server.processIdentifier) ?? Int.max)
            Thread.sleep(forTimeInterval: 0.05)
        }
        // Everyone else is still served meanwhile.
        #expect((try? RawClient(port: port).call("GET", "/healthz"))?.status == 200)
    }
    print("flood: anonymous RSS \(before >> 10) KiB before, at most \(most >> 10) KiB with \(sent >> 10) KiB pipelined")
    #expect(
        most < bound,
        "anonymous RSS \(most >> 20) MB with \(sent >> 20) MB pipelined (\(before >> 20) MB before); bound \(bound >> 20) MB")

    kill(server.processIdentifier, SIGTERM)
    server.waitUntilExit()
    #expect(server.terminationReason == .exit && server.terminationStatus == 0)
}
