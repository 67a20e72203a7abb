import Foundation
import Ledger
import Synchronization
import Testing

/// SIGTERM while gateways are verifying: the server exits 0, and every verification
/// that was answered VALID has its `key.accessed` in the log.
@Test func sigtermDuringLoadLosesNoAcknowledgedRequest() throws {
    var template = Array("/tmp/keyledger-sigterm-XXXXXX".utf8CString)
    let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let root = try Ledger.initialize(path: dir)
    // Port 0 and the port the server logs (a random one may be another test's).
    let (server, logPath) = try startKeyledger(["serve", "--data", dir, "--listen", "127.0.0.1:0", "--quiet"])
    defer { try? FileManager.default.removeItem(atPath: logPath) }
    let port = try #require(try servingPort(logPath), "serve did not start")
    let setup = try RawClient(port: port)
    let created = try setup.call(
        "POST", "/v1/keys", json: #"{"owner":"org_1","name":"load"}"#, headers: ["Authorization": "Bearer \(root)"])
    let secret = created.data["secret"] as? String ?? ""
    let acknowledged = Atomic<Int>(0)
    let group = DispatchGroup()
    for _ in 0..<8 {
        group.enter()
        Thread.detachNewThread {
            defer { group.leave() }
            guard let c = try? RawClient(port: port) else { return }
            while let r = try? c.call("POST", "/v1/verify", json: #"{"key":"\#(secret)"}"#) {
                if r.data["code"] as? String == "VALID" { acknowledged.add(1, ordering: .relaxed) }
                if r.headers["connection"] == "close" { break }
            }
        }
    }
    Thread.sleep(forTimeInterval: 0.6)
    kill(server.processIdentifier, SIGTERM)
    server.waitUntilExit()
    group.wait()
    #expect(server.terminationReason == .exit && server.terminationStatus == 0)
    let ledger = try Ledger.openReadOnly(path: dir)
    let events = try ledger.events(after: 1, limit: 1_000_000)
    #expect(acknowledged.load(ordering: .relaxed) > 0)
    #expect(events.count >= acknowledged.load(ordering: .relaxed))
    #expect(try ledger.verifyChain().isIntact)
}
