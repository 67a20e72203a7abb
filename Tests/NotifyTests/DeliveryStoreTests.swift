import Events
import Foundation
import Notify
import Projections
import Testing

private let t0: Int64 = 1_795_417_200_000_000
private let second: Int64 = 1_000_000
private let hookID = WebhookID(raw: KeyID(high: 0x0352_0000_0000_0000, low: 7))

private func event(_ seq: UInt64, _ payload: EventPayload, owner: String = "org_1", at time: Int64 = t0) -> Event {
    Event(
        seq: seq, time: time, keyID: payload.webhookID == nil ? KeyID(high: 1, low: seq) : .none, owner: owner,
        actor: Actor(kind: .root, id: "root"), payload: payload)
}

private func store() throws -> (DeliveryStore, String) {
    let path = NSTemporaryDirectory() + "keyledger-deliveries-\(UInt64.random(in: 0...UInt64.max))"
    return (try DeliveryStore(path: path), path)
}

private let created = EventPayload.webhookCreated(
    WebhookCreated(
        id: hookID, url: "https://hooks.example.com/", eventTypes: ["key.revoked", "key.suspended"], description: nil))

/// Exactly the subscribed types of the subscribed owner are queued, in seq order,
/// and only the oldest is due: one event of a webhook at a time.
@Test func theFoldQueuesTheSubscribedEventsInOrder() throws {
    let (s, path) = try store()
    defer { try? FileManager.default.removeItem(atPath: path) }
    try s.fold(
        [
            event(1, created), event(2, .revoked(reason: nil)), event(3, .revoked(reason: nil), owner: "org_2"),
            event(4, .expired), event(5, .suspended(reason: nil)),
        ], now: t0)
    #expect(try s.checkpoint() == 5)
    #expect(try s.queued(hookID) == 2)
    let due = try s.due(now: t0, busy: [], limit: 10)
    #expect(due.map(\.seq) == [2])
    #expect(try s.due(now: t0, busy: [hookID], limit: 10).isEmpty)
    try s.record(due[0], eventID: "evt_2", result: DeliveryOutcome(status: 204, durationMs: 3, error: nil), now: t0)
    #expect(try s.due(now: t0, busy: [], limit: 10).map(\.seq) == [5])
    // Events older than the 3-day horizon (a store rebuilt from seq 1) are not queued.
    try s.fold([event(6, .revoked(reason: nil), at: t0 - 4 * 86_400 * second)], now: t0)
    #expect(try s.queued(hookID) == 1)
}

/// Failures back off by the schedule; the event is given up after 3 days, and the
/// webhook is to be disabled after failing for 5.
@Test func failuresBackOffGiveUpAndDisable() throws {
    let (s, path) = try store()
    defer { try? FileManager.default.removeItem(atPath: path) }
    try s.fold([event(1, created), event(2, .revoked(reason: nil)), event(3, .suspended(reason: nil))], now: t0)
    let failed = DeliveryOutcome(status: 500, durationMs: 1, error: "the receiver answered 500")
    var now = t0
    var nexts: [Int64] = []
    while let job = try s.due(now: now, busy: [], limit: 1).first, job.seq == 2 {
        let recorded = try s.record(job, eventID: "evt_2", result: failed, now: now)
        #expect(!recorded.disable)
        guard let next = recorded.nextAttemptAt else { break }
        nexts.append((next - now) / second)
        now = next
    }
    #expect(Array(nexts.prefix(7)) == [5, 300, 1800, 7200, 18_000, 36_000, 43_200])
    // Given up: the next event is due, and the last attempt says so.
    let attempts = try s.attempts(hookID, before: nil, limit: 1000).attempts
    #expect(attempts.first?.error?.contains("given up after 3 days") == true)
    #expect(attempts.first?.nextAttemptAt == nil)
    #expect(attempts.map(\.number) == Array((1...UInt64(attempts.count)).reversed()))
    #expect(now - t0 >= 3 * 86_400 * second)
    var job = try #require(try s.due(now: now, busy: [], limit: 1).first)
    #expect(job.seq == 3)
    #expect(!(try s.record(job, eventID: "evt_3", result: failed, now: now)).disable)
    job = try #require(try s.due(now: now + 5 * second, busy: [], limit: 1).first)
    #expect(try s.record(job, eventID: "evt_3", result: failed, now: t0 + 5 * 86_400 * second).disable)
    // A success makes it healthy again.
    job = try #require(try s.due(now: t0 + 6 * 86_400 * second, busy: [], limit: 1).first)
    try s.record(
        job, eventID: "evt_3", result: DeliveryOutcome(status: 200, durationMs: 1, error: nil),
        now: t0 + 6 * 86_400 * second)
    #expect(try s.queued(hookID) == 0)
}

@Test func redeliveryQueuesTheEventsAfterASeqAgain() throws {
    let (s, path) = try store()
    defer { try? FileManager.default.removeItem(atPath: path) }
    let events = [
        event(1, created), event(2, .revoked(reason: nil)), event(3, .expired), event(4, .suspended(reason: nil)),
    ]
    try s.fold(events, now: t0)
    for _ in 0..<2 {
        let job = try #require(try s.due(now: t0, busy: [], limit: 1).first)
        try s.record(job, eventID: "e", result: DeliveryOutcome(status: 200, durationMs: 1, error: nil), now: t0)
    }
    #expect(try s.queued(hookID) == 0)
    try s.requestRedelivery(hookID, after: 2)
    let asked = try s.redeliveries()
    #expect(asked.count == 1 && asked[0].next == 3 && asked[0].until == 4)
    try s.redeliver(hookID, Array(events[2...]), next: 5, until: 4)
    #expect(try s.redeliveries().isEmpty)
    #expect(try s.due(now: t0, busy: [], limit: 1).map(\.seq) == [4])
}
