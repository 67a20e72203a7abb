import Dispatch
import Events
import Foundation
import Ledger
import Notify
import Outbound
import Projections
import Synchronization
import Testing

/// The deliverer decodes only the events a webhook wants and webhook events; it passes
/// the rest by their records' type bytes (with no webhook: every event but webhook
/// events). The first webhook's creation is still found, and every event after it that
/// the webhook wants is queued, none before it.
@Test func withoutWebhooksTheLogIsPassedAndTheFirstWebhookMissesNothing() throws {
    let path = NSTemporaryDirectory() + "keyledger-deliverer-skip-\(UInt64.random(in: 0...UInt64.max))"
    defer { try? FileManager.default.removeItem(atPath: path) }
    var options = LedgerOptions()
    options.sweepInterval = nil
    let ledger = try Ledger(path: path, options: options)
    defer { ledger.close() }
    var delivery = DelivererOptions()
    delivery.outbound.allowPrivate = true
    delivery.outbound.connectTimeout = 1
    delivery.pollInterval = 0.01
    let deliverer = try Deliverer(
        ledger: ledger, directory: path, key: WebhookKey(bytes: Array(repeating: 2, count: 32)), options: delivery)
    deliverer.start()
    defer { deliverer.stop() }
    let root = CommandContext(actor: Actor(kind: .root, id: "root"))
    for i in 0..<5 {
        _ = try wait { done in ledger.createKey(KeySpec(owner: "org_1", name: "before \(i)"), context: root, completion: done) }
    }
    try ledger.awaitLog()
    let before = try ledger.head().seq
    try until("the deliverer at the head") { try deliverer.store.checkpoint() == before }
    // Nothing is wanted but webhook events: nothing else is decoded.
    let wanted = try deliverer.store.wantedTypes()
    #expect(EventType.allCases.filter { wanted[Int($0.rawValue)] }.count == 5 && !wanted[Int(EventType.created.rawValue)])
    #expect(try deliverer.store.queuedTotal() == 0)
    let none = try ledger.events(after: 0, limit: 1000, scanLimit: 1000, wanted: wanted, stopAfter: { _ in false })
    #expect(none.events.isEmpty && none.last == before)
    // Port 9 (discard) on loopback: nothing listens, so queued events stay queued.
    let hook = try wait { done in
        ledger.createWebhook(
            WebhookSpec(owner: "org_1", url: "http://127.0.0.1:9/hook", eventTypes: ["key.created"]), context: root,
            completion: done)
    }
    for i in 0..<3 {
        _ = try wait { done in ledger.createKey(KeySpec(owner: "org_1", name: "after \(i)"), context: root, completion: done) }
    }
    try ledger.awaitLog()
    let head = try ledger.head().seq
    // The scan stops after the webhook's creation; then the keys it wants are decoded,
    // at most `limit` of them, and at most `scanLimit` events are looked at.
    let upTo = try ledger.events(after: 0, limit: 1000, scanLimit: 1000, wanted: wanted, stopAfter: { $0 == .webhookCreated })
    #expect(upTo.events.map(\.seq) == [before + 1] && upTo.last == before + 1)
    try until("the deliverer at the head") { try deliverer.store.checkpoint() == head }
    let created = try deliverer.store.wantedTypes()
    #expect(created[Int(EventType.created.rawValue)] && !created[Int(EventType.accessed.rawValue)])
    let after = try ledger.events(after: before + 1, limit: 2, scanLimit: 1000, wanted: created, stopAfter: { _ in false })
    #expect(after.events.map(\.seq) == [before + 2, before + 3] && after.last == before + 3)
    let scanned = try ledger.events(after: before + 1, limit: 9, scanLimit: 1, wanted: created, stopAfter: { _ in false })
    #expect(scanned.events.count == 1 && scanned.last == before + 2)
    #expect(try deliverer.store.queued(hook.id) == 3)
}
