import Events
import Foundation
import Ledger
import Testing

private let t0: Int64 = 1_795_417_200_000_000
private let root = Actor(kind: .root, id: "root")
private let minute = AuditTrail.window

private func count(_ records: [AuditRecord]) -> UInt64 {
    records.reduce(0) { total, record in
        switch record.payload {
        case .request(let r): total + r.count
        case .authFailed(let f): total + f.count
        default: total
        }
    }
}

/// Identical reads: the first of a minute is recorded at once, the rest counted and
/// appended once the minute is over (at most one record per minute), all at close.
@Test func identicalReadsAreCoalescedOncePerMinuteAndEveryOneCounted() {
    let trail = AuditTrail()
    let read = LedgerRequest(method: "GET", route: "/v1/audit", status: 200)
    func ask(_ at: Int64, _ r: LedgerRequest = read, ip: String = "10.0.0.1") -> AuditRecord? {
        trail.read(r, actor: root, ip: IPAddress(ip), requestID: "req", now: at)
    }
    var appended: [AuditRecord] = []
    let first = ask(t0)
    #expect(first?.payload == .request(read) && first?.requestID == "req")
    appended += [first].compactMap { $0 }
    for i in 1...9 { #expect(ask(t0 + Int64(i) * 1_000_000) == nil) }
    // Another status, another actor: other groups, recorded at once.
    #expect(ask(t0 + 1, LedgerRequest(method: "GET", route: "/v1/audit", status: 503)) != nil)
    #expect(trail.read(read, actor: Actor(kind: .socket, id: "uid:0"), ip: nil, requestID: nil, now: t0 + 2) != nil)
    #expect(trail.due(now: t0 + minute - 1).isEmpty)
    // The minute is over: the next read carries the nine pending and itself.
    let second = ask(t0 + minute + 5)
    #expect(second?.payload == .request(LedgerRequest(method: "GET", route: "/v1/audit", status: 200, count: 10)))
    #expect(second?.requestID == nil && second?.ip == IPAddress("10.0.0.1"))
    appended += [second].compactMap { $0 }
    // Pending reads from two addresses and two keys: the summary keeps neither.
    let target = KeyID(high: 1, low: 2)
    #expect(ask(t0 + minute + 6, LedgerRequest(method: "GET", route: "/v1/audit", status: 200, target: target)) == nil)
    #expect(ask(t0 + minute + 7, ip: "10.0.0.2") == nil)
    let due = trail.due(now: t0 + 2 * minute + 5)
    #expect(due.count == 1 && due.first?.ip == nil)
    #expect(due.first?.payload == .request(LedgerRequest(method: "GET", route: "/v1/audit", status: 200, count: 2)))
    appended += due
    #expect(ask(t0 + 2 * minute + 6) == nil)
    let closing = trail.drain()
    appended += closing
    #expect(count(closing) == 1 && trail.drain().isEmpty)
    #expect(count(appended) == 14, "every read of the group is counted exactly once")
}

/// A record that could not be appended gives its counts back: the next record carries
/// them, less the read that was answered 503 instead.
@Test func aRecordNotAppendedGivesItsCountsBack() {
    let trail = AuditTrail()
    let read = LedgerRequest(method: "GET", route: "/v1/keys", status: 200)
    _ = trail.read(read, actor: root, ip: nil, requestID: nil, now: t0)
    for i in 1...4 { _ = trail.read(read, actor: root, ip: nil, requestID: nil, now: t0 + Int64(i)) }
    let failed = trail.read(read, actor: root, ip: nil, requestID: nil, now: t0 + minute)
    #expect(failed?.payload == .request(LedgerRequest(method: "GET", route: "/v1/keys", status: 200, count: 5)))
    trail.restore(failed!, ownRequest: true)
    let retried = trail.read(read, actor: root, ip: nil, requestID: nil, now: t0 + minute + 1)
    #expect(retried?.payload == .request(LedgerRequest(method: "GET", route: "/v1/keys", status: 200, count: 5)))
}

/// 60 failures per address and minute are recorded one by one; the rest are one summary.
@Test func failedAuthenticationsAreLimitedPerAddress() {
    let trail = AuditTrail()
    let failure = AuthFailed(method: "GET", route: "/v1/keys", reason: .unknown)
    var own = 0
    for i in 0..<100 {
        let r = trail.failure(
            i == 99 ? AuthFailed(method: "GET", route: "/v1/audit", reason: .unknown) : failure,
            ip: IPAddress("192.0.2.1"), requestID: "req_\(i)", now: t0 + Int64(i))
        if r.own != nil { own += 1 }
        #expect(r.summaries.isEmpty)
    }
    #expect(own == AuditTrail.failuresPerMinute)
    #expect(trail.failure(failure, ip: IPAddress("192.0.2.2"), requestID: nil, now: t0 + 200).own != nil)
    #expect(trail.due(now: t0 + minute - 1).isEmpty)
    let due = trail.due(now: t0 + minute)
    // The 40 over the limit, with only what they share (not the route: one differed).
    #expect(due.count == 1 && due.first?.ip == IPAddress("192.0.2.1"))
    #expect(due.first?.payload == .authFailed(AuthFailed(method: "GET", route: nil, reason: .unknown, count: 40)))
    // The other address's minute is not over yet.
    #expect(trail.trackedAddresses == 1)
    #expect(trail.due(now: t0 + minute + 200).isEmpty && trail.trackedAddresses == 0)
}

/// A flood from many addresses keeps the table at its bound, and still counts every failure.
@Test func aFloodFromManyAddressesStaysBoundedAndCounted() {
    let trail = AuditTrail(maxAddresses: 100)
    let failure = AuthFailed(method: "GET", route: "/v1/keys", reason: .missing)
    var appended: [AuditRecord] = []
    for i in 0..<10_000 {
        let address = IPAddress(high: 0, low: 0xFFFF_0A00_0000 | UInt64(i), isV4: true)
        let r = trail.failure(failure, ip: address, requestID: nil, now: t0 + Int64(i))
        appended += r.summaries + [r.own].compactMap { $0 }
        #expect(trail.trackedAddresses <= 101)
    }
    appended += trail.drain()
    #expect(count(appended) == 10_000)
    // 100 addresses tracked, then one overflow group: its 60 and one summary of the rest.
    #expect(appended.count == 100 + 60 + 1)
    #expect(appended.last?.ip == nil)
}

/// Through a real ledger: coalesced reads are counted exactly, and what is pending when
/// the ledger closes is appended before it does.
@Test func pendingReadCountsReachTheLogAtClose() throws {
    let f = try LedgerFixture()
    let read = LedgerRequest(method: "GET", route: "/v1/keys/{id}/logs", status: 200)
    let before = f.headSeq
    for _ in 0..<25 {
        let recorded: Bool = try wait { done in
            f.ledger.recordRequest(read, context: rootContext, coalesce: true) { done(.success($0 == nil)) }
        }
        #expect(recorded)
    }
    #expect(f.headSeq == before + 1, "the first is recorded before its answer; the rest are counted")
    try f.reopen()
    let counts = try (before + 1...f.headSeq).map { seq -> UInt64 in
        guard case .request(let r) = try #require(try f.ledger.event(at: seq)).event.payload else { return 0 }
        return r.count
    }
    #expect(counts == [1, 24])
}
