import Events
import Foundation
import Glibc
import Ledger
import Projections
import Synchronization
import Testing

/// What the clients of one round were answered.
private struct Answered {
    /// The highest `X-Ledger-Seq` of an answered VALID verification.
    var highestSeq: UInt64 = 0
    /// VALID verifications answered.
    var valid = 0
}

/// `keyledger serve` as it runs by default (the writer's batches on the event loop) is
/// killed with SIGKILL at a random moment while 8 connections verify one key, three times
/// over the same ledger. After each kill the ledger opens (applying the journal's batches
/// the log's file lacks) with an intact chain holding every answered verification (each
/// one's `X-Ledger-Seq` at most the head), and the key's credits are exactly its grant less
/// the VALID verifications the log records, at least as many as were answered.
@Test func aKilledServerLosesNoAnsweredVerification() throws {
    var template = Array("/tmp/keyledger-serve-crash-XXXXXX".utf8CString)
    let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let root = try Ledger.initialize(path: dir)
    let grant: Int64 = 10_000_000
    var key: (id: String, secret: String)?
    var answeredInAll = 0
    for round in 0..<3 {
        let (server, logPath) = try startKeyledger(["serve", "--data", dir, "--listen", "127.0.0.1:0", "--quiet"])
        defer { try? FileManager.default.removeItem(atPath: logPath) }
        let port = try #require(try servingPort(logPath), "round \(round): serve did not start")
        if key == nil {
            let created = try RawClient(port: port).call(
                "POST", "/v1/keys", json: #"{"owner":"org_1","name":"crash","credits":\#(grant)}"#,
                headers: ["Authorization": "Bearer \(root)"])
            #expect(created.status == 201)
            let made = created.data
            key = (
                try #require((made["key"] as? [String: Any])?["id"] as? String),
                try #require(made["secret"] as? String)
            )
        }
        let (_, secret) = try #require(key)
        let answered = Mutex(Answered())
        let clients = DispatchGroup()
        for _ in 0..<8 {
            DispatchQueue.global().async(group: clients) {
                guard let client = try? RawClient(port: port) else { return }
                // Until the kill closes the connection (the read then throws).
                while let answer = try? client.call("POST", "/v1/verify", json: #"{"key":"\#(secret)"}"#) {
                    guard answer.status == 200, answer.data["code"] as? String == "VALID",
                        let seq = answer.headers["x-ledger-seq"].flatMap({ UInt64($0) })
                    else { continue }
                    answered.withLock {
                        $0.valid += 1
                        $0.highestSeq = max($0.highestSeq, seq)
                    }
                }
            }
        }
        Thread.sleep(forTimeInterval: Double.random(in: 0.3...1.2))
        kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
        #expect(server.terminationReason == .uncaughtSignal)
        clients.wait()
        let (valid, highest) = answered.withLock { ($0.valid, $0.highestSeq) }
        #expect(valid > 0, "round \(round): nothing was answered before the kill")
        answeredInAll += valid

        var options = LedgerOptions()
        options.sweepInterval = nil
        let ledger = try Ledger(path: dir, options: options)
        defer { ledger.close() }
        let report = try ledger.verifyChain()
        #expect(report.isIntact, "round \(round): \(report.reason ?? "")")
        #expect(report.events >= highest, "round \(round): answered seq \(highest), the log holds \(report.events)")
        var recordedValid = 0
        var after: UInt64 = 0
        while true {
            let page = try ledger.events(after: after, limit: 10_000)
            guard let last = page.last else { break }
            for stored in page {
                if case .accessed(let access) = stored.event.payload, access.code == .valid { recordedValid += 1 }
            }
            after = last.event.seq
        }
        #expect(recordedValid >= answeredInAll, "round \(round): \(answeredInAll) answered, \(recordedValid) recorded")
        try ledger.awaitProjections(seconds: 30)
        let id = try #require(KeyID(key?.id ?? ""))
        let state = try #require(try ledger.key(id))
        #expect(state.credits == grant - Int64(recordedValid), "round \(round)")
    }
}
