import Dispatch
import Events
import Foundation
import Ledger
import Notify
import Outbound
import Projections
import Synchronization
import Testing

/// A clock the test moves by hand.
private final class HandClock: LedgerClock {
    let micros = Mutex<Int64>(1_795_417_200_000_000)
    func now() -> Int64 { micros.withLock { $0 } }
    func monotonicNanos() -> UInt64 { UInt64(now()) * 1000 }
    func advance(seconds: Int64) { micros.withLock { $0 += seconds * 1_000_000 } }
}

/// The whole loop with a receiver that never listens: the deliverer folds the event,
/// attempts it, records the refusal with its next attempt, and once the webhook has
/// failed for 5 days (the clock moved by hand) appends `webhook.disabled` through the
/// writer, after which nothing more is attempted.
@Test func aWebhookFailingForFiveDaysIsDisabled() throws {
    let path = NSTemporaryDirectory() + "keyledger-deliverer-\(UInt64.random(in: 0...UInt64.max))"
    defer { try? FileManager.default.removeItem(atPath: path) }
    let clock = HandClock()
    var options = LedgerOptions()
    options.clock = clock
    options.sweepInterval = nil
    let ledger = try Ledger(path: path, options: options)
    defer { ledger.close() }
    var delivery = DelivererOptions()
    delivery.outbound.allowPrivate = true
    delivery.outbound.connectTimeout = 1
    delivery.pollInterval = 0.01
    let deliverer = try Deliverer(
        ledger: ledger, directory: path, key: WebhookKey(bytes: Array(repeating: 1, count: 32)), options: delivery)
    deliverer.start()
    defer { deliverer.stop() }
    let root = CommandContext(actor: Actor(kind: .root, id: "root"))
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    let hook = try wait { done in
        ledger.createWebhook(
            WebhookSpec(owner: "org_1", url: "http://127.0.0.1:9/hook", eventTypes: ["key.created"]), context: root,
            completion: done)
    }
    let spec = KeySpec(owner: "org_1", name: "k")
    _ = try wait { done in ledger.createKey(spec, context: root, completion: done) }
    try until("a first failed attempt") {
        try !deliverer.store.attempts(hook.id, before: nil, limit: 10).attempts.isEmpty
    }
    let first = try #require(try deliverer.store.attempts(hook.id, before: nil, limit: 1).attempts.first)
    #expect(first.status == 0 && first.error != nil)
    #expect(first.nextAttemptAt == first.attemptAt + 5_000_000)
    clock.advance(seconds: 5 * 86_400 + 10)
    try until("webhook.disabled in the log") {
        try ledger.events(after: 0, limit: 100).contains { $0.event.type == .webhookDisabled }
    }
    let disabled = try #require(try ledger.events(after: 0, limit: 100).first { $0.event.type == .webhookDisabled })
    #expect(disabled.event.actor == .deliverer)
    #expect(disabled.event.payload == .webhookDisabled(hook.id, reason: "failing for 5 days"))
    // Disabled: no attempt follows, however much time passes.
    usleep(200_000)
    let attempts = try deliverer.store.attempts(hook.id, before: nil, limit: 100).attempts.count
    clock.advance(seconds: 86_400)
    usleep(300_000)
    #expect(try deliverer.store.attempts(hook.id, before: nil, limit: 100).attempts.count == attempts)
}
