import Dispatch
import Events
import Foundation
import Ledger
import Notify
import Outbound
import Projections
import Synchronization
import Testing

private func wait<T: Sendable>(_ body: (@escaping @Sendable (Result<T, LedgerError>) -> Void) -> Void) throws -> T {
    let done = DispatchSemaphore(value: 0)
    let box = Mutex<Result<T, LedgerError>?>(nil)
    body { result in
        box.withLock { $0 = result }
        done.signal()
    }
    done.wait()
    return try box.withLock { $0! }.get()
}

private func until(_ what: String, _ condition: () throws -> Bool) throws {
    for _ in 0..<1000 {
        if try condition() { return }
        usleep(10_000)
    }
    Issue.record("timed out waiting for \(what)")
}

/// With no webhook, the deliverer passes the log by its records' type bytes (no event
/// decoded) up to the head; the first webhook's creation is still found, and every
/// event after it that the webhook wants is queued, none before it.
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
    let before = try ledger.head().seq
    try until("the deliverer at the head") { try deliverer.store.checkpoint() == before }
    #expect(try deliverer.store.hasNoWebhooks())
    #expect(try deliverer.store.queuedTotal() == 0)
    #expect(try ledger.firstEvent(after: 0, limit: 1000, ofTypes: [.webhookCreated]) == (nil, before))
    // Port 9 (discard) on loopback: nothing listens, so queued events stay queued.
    let hook = try wait { done in
        ledger.createWebhook(
            WebhookSpec(owner: "org_1", url: "http://127.0.0.1:9/hook", eventTypes: ["key.created"]), context: root,
            completion: done)
    }
    for i in 0..<3 {
        _ = try wait { done in ledger.createKey(KeySpec(owner: "org_1", name: "after \(i)"), context: root, completion: done) }
    }
    let head = try ledger.head().seq
    #expect(try ledger.firstEvent(after: 0, limit: 1000, ofTypes: [.webhookCreated]) == (before + 1, before))
    #expect(try ledger.firstEvent(after: before + 1, limit: 2, ofTypes: [.webhookCreated]) == (nil, before + 3))
    try until("the deliverer at the head") { try deliverer.store.checkpoint() == head }
    #expect(try !deliverer.store.hasNoWebhooks())
    #expect(try deliverer.store.queued(hook.id) == 3)
}
