import Events
import Foundation
import Ledger
import Store
import Testing

/// `keyledger serve --read-only` on a ledger whose chain is broken (where plain serve
/// refuses to start): reads are answered, the chain check names the bad seq, writes are
/// 503 and nothing is appended.
@Test func serveReadOnlyServesADamagedLedgerForInvestigation() throws {
    var template = Array("/tmp/keyledger-readonly-XXXXXX".utf8CString)
    let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let root = try Ledger.initialize(path: dir)
    var options = LedgerOptions()
    options.sweepInterval = nil
    let ledger = try Ledger(path: dir, options: options)
    for i in 0..<4 {
        let done = DispatchSemaphore(value: 0)
        ledger.createKey(
            KeySpec(owner: "org_1", name: "k\(i)"), context: CommandContext(actor: Actor(kind: .root, id: "root"))
        ) { _ in done.signal() }
        done.wait()
    }
    ledger.close()
    let environment = try Environment(path: dir, tables: LedgerSchema.tableSpecs)
    try environment.write { txn in
        let key = withUnsafeBytes(of: UInt64(2).bigEndian) { Array($0) }
        var value = try #require(try txn.get(environment.table("events"), key))
        value[value.count - 70] ^= 0x80
        try txn.put(environment.table("events"), key, value)
    }

    // Port 0 and the port the server logs (a random one may be another test's).
    let (server, logPath) = try startKeyledger([
        "serve", "--data", dir, "--listen", "127.0.0.1:0", "--quiet", "--read-only",
    ])
    defer {
        server.terminate()
        server.waitUntilExit()
        try? FileManager.default.removeItem(atPath: logPath)
    }
    let c = try RawClient(port: try #require(try servingPort(logPath), "serve --read-only did not start"))
    let auth = ["Authorization": "Bearer \(root)"]
    let events = try c.call("GET", "/v1/events", headers: auth)
    #expect(events.status == 200 && events.list.count == 4)
    let check = try c.call("GET", "/v1/ledger/verify", headers: auth)
    #expect(check.data["ok"] as? Bool == false && check.data["firstBadSeq"] as? Int == 2)
    let write = try c.call("POST", "/v1/keys", json: #"{"owner":"org_1","name":"more"}"#, headers: auth)
    #expect(write.status == 503 && write.errorCode == "UNAVAILABLE")
    #expect(try c.call("GET", "/v1/events", headers: auth).list.count == 4)
}
