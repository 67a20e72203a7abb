import Events
import Foundation
import Ledger
import Store
import Testing

/// `keyledger serve --read-only` on a ledger whose chain is broken (where plain serve
/// refuses to start): reads are answered, the chain check names the bad seq, writes are
/// 503 and nothing is appended.
@Test func serveReadOnlyServesADamagedLedgerForInvestigation() throws {
    let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    let binary = URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("keyledger").path
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

    let port = UInt16.random(in: 20000...40000)
    let server = Process()
    server.executableURL = URL(fileURLWithPath: binary)
    server.arguments = ["serve", "--data", dir, "--listen", "127.0.0.1:\(port)", "--quiet", "--read-only"]
    server.standardError = FileHandle.nullDevice
    try server.run()
    defer {
        server.terminate()
        server.waitUntilExit()
    }
    var client: RawClient?
    for _ in 0..<300 where client == nil {
        client = try? RawClient(port: port)
        if client == nil { Thread.sleep(forTimeInterval: 0.05) }
    }
    let c = try #require(client)
    let auth = ["Authorization": "Bearer \(root)"]
    let events = try c.call("GET", "/v1/events", headers: auth)
    #expect(events.status == 200 && events.list.count == 4)
    let check = try c.call("GET", "/v1/ledger/verify", headers: auth)
    #expect(check.data["ok"] as? Bool == false && check.data["firstBadSeq"] as? Int == 2)
    let write = try c.call("POST", "/v1/keys", json: #"{"owner":"org_1","name":"more"}"#, headers: auth)
    #expect(write.status == 503 && write.errorCode == "UNAVAILABLE")
    #expect(try c.call("GET", "/v1/events", headers: auth).list.count == 4)
}
