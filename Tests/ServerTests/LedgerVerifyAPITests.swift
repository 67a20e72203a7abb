import Events
import Foundation
import Glibc
import Ledger
import Testing

/// True when `client`'s socket has bytes to read within `milliseconds`.
func hasAnswer(_ client: RawClient, within milliseconds: Int32 = 0) -> Bool {
    var descriptor = pollfd(fd: client.fd, events: Int16(POLLIN), revents: 0)
    return poll(&descriptor, 1, milliseconds) == 1
}

/// Appends `count` access events through the bulk import path `keyledger generate` uses.
func importAccesses(_ count: Int, into ledger: Ledger, key: KeyID) throws {
    try ledger.awaitLog()
    let head = try ledger.head()
    var remaining = count
    _ = try ledger.importEvents {
        guard remaining > 0 else { return nil }
        remaining -= 1
        return Event(
            time: head.time + 1, keyID: key, owner: "org_42", actor: Actor(kind: .key, id: key.description),
            payload: .accessed(KeyAccessed(code: .valid, cost: 0)))
    }
}

/// A chain check over a large log runs off the event loop: with one event loop, /healthz
/// is answered while the check is still running, and the check's answer comes after.
@Test func healthzAnswersWhileAChainCheckRuns() throws {
    let f = try ServerFixture()
    let (id, _) = try f.createKey()
    try importAccesses(400_000, into: f.ledger, key: try #require(KeyID(id)))
    let checking = try f.client()
    checking.send(RawClient.request("GET", "/v1/ledger/verify?full=true", headers: f.auth))
    Thread.sleep(forTimeInterval: 0.05)
    let health = try f.client()
    var slowest = 0.0
    for _ in 0..<20 {
        let started = Date()
        #expect(try health.call("GET", "/healthz").status == 200)
        slowest = max(slowest, Date().timeIntervalSince(started))
    }
    // Twenty health checks were answered and the chain check is still going.
    #expect(!hasAnswer(checking))
    #expect(slowest < 0.2)
    #expect(hasAnswer(checking, within: 60_000))
    let report = try checking.read()
    #expect(report.status == 200 && report.data["ok"] as? Bool == true)
    #expect(report.data["events"] as? Int == 400_001)
    // The next check resumes from there, over one more event: the first check's own record.
    // (A plain client, which does not wait for the projections: after the first check's
    // record they fold the 400,000 imported events, and a chain check reads only the log.)
    // The record is acknowledged; the log's readers see it once its generation commits.
    try f.ledger.awaitLog()
    let again = try RawClient(port: f.port).call("GET", "/v1/ledger/verify", headers: f.auth)
    #expect(again.data["events"] as? Int == 400_002)
    #expect(try f.ledger.event(at: 400_002)?.prevHash.hex == report.data["head"] as? String)
}

/// Long-polls beyond the bound are refused at once with 503 and Retry-After; those
/// admitted are answered by the next commit.
@Test func longPollsBeyondTheBoundAre503WithRetryAfter() throws {
    let f = try ServerFixture(ledgerOptions: { $0.maxLongPolls = 2 })
    let head = f.eventCount
    let waiting = try (0..<2).map { _ in try f.client() }
    for client in waiting { client.send(RawClient.request("GET", "/v1/events?after=\(head)&wait=20", headers: f.auth)) }
    var spins = 0
    while f.ledger.longPollsWaiting < 2, spins < 200 {
        Thread.sleep(forTimeInterval: 0.01)
        spins += 1
    }
    let refused = try f.client().call("GET", "/v1/events?after=\(head)&wait=20", headers: f.auth)
    #expect(refused.status == 503 && refused.errorCode == "UNAVAILABLE" && refused.headers["retry-after"] == "1")
    // The next commit is the refused poll's own record, appended before its answer.
    for client in waiting {
        let page = try client.read()
        #expect(page.status == 200 && page.list.count == 1 && page.list.first?["type"] as? String == "ledger.request")
        #expect((page.list.first?["data"] as? [String: Any])?["status"] as? Int == 503)
    }
    #expect(f.ledger.longPollsWaiting == 0)
}
