import CSystem
import Dispatch
import Events
import Glibc
import Logging
public import Ledger
public import Outbound
import Projections
import Synchronization

/// How webhooks are delivered.
public struct DelivererOptions: Sendable {
    public var outbound = OutboundOptions()
    /// Deliveries in flight at once at most (one per webhook at a time): a hanging
    /// receiver holds one of them for at most the total timeout, never the ledger.
    public var workers = 4
    /// Seconds between looks at the log and at the due deliveries when idle.
    public var pollInterval = 0.1

    public init() {}
}

/// Delivers webhooks: one thread folds the committed log into the ``DeliveryStore``
/// (read transactions on the ledger only), one hands due deliveries to a bounded pool
/// of workers, and each worker POSTs one event of one webhook at a time, so each
/// webhook receives its events in log order while it answers, and a slow or dead
/// receiver slows no other webhook, no verification and no command.
public final class Deliverer: Sendable {
    let ledger: Ledger
    public let store: DeliveryStore
    let key: WebhookKey
    let options: DelivererOptions
    private let state = Mutex(State())
    private let jobs = DispatchSemaphore(value: 0)
    private let done = DispatchGroup()

    struct State {
        var stopping = false
        var busy: Set<WebhookID> = []
        var queue: [DeliveryJob] = []
        var disabling: Set<WebhookID> = []
    }

    /// - Parameters:
    ///   - directory: the ledger's data directory; the store lives in `directory/deliveries`.
    public init(ledger: Ledger, directory: String, key: WebhookKey, options: DelivererOptions) throws {
        self.ledger = ledger
        self.store = try DeliveryStore(path: directory + "/deliveries")
        self.key = key
        self.options = options
    }

    /// Starts the threads.
    public func start() {
        for (index, (loop, name)) in [(fold, "kl-deliverer"), (schedule, "kl-deliver-plan")].enumerated() {
            done.enter()
            DispatchQueue(label: "keyledger-deliveries-\(index)").async { [done] in
                // Named for profilers (`perf stat -t`, `top -H`).
                _ = csys_set_thread_name(name)
                loop()
                done.leave()
            }
        }
        for index in 0..<options.workers {
            done.enter()
            DispatchQueue(label: "keyledger-delivery-worker-\(index)").async { [self] in
                work()
                done.leave()
            }
        }
    }

    /// Stops the threads, letting attempts in flight finish (each within its timeout).
    public func stop() {
        state.withLock { $0.stopping = true }
        for _ in 0..<options.workers { jobs.signal() }
        done.wait()
    }

    private var stopping: Bool { state.withLock { $0.stopping } }

    private func pause() { usleep(UInt32(options.pollInterval * 1_000_000)) }

    /// Folds the committed log, then the redeliveries asked for, a chunk at a time.
    private func fold() {
        while !stopping {
            var busy = false
            do {
                // Only the events a subscription wants, and webhook events, are decoded;
                // the others pass by their type byte (with no webhook, every event but a
                // webhook event). A webhook event ends the stretch: what is wanted after
                // it is read again.
                let from = try store.checkpoint()
                let scanLimit = 100_000
                let (events, last) = try ledger.events(
                    after: from, limit: 1000, scanLimit: scanLimit, wanted: try store.wantedTypes(),
                    stopAfter: { $0.isWebhookEvent })
                if last > from {
                    try store.fold(events, through: last, now: ledger.clock.now())
                    busy =
                        events.count >= 1000 || last - from >= UInt64(scanLimit)
                        || events.last?.type.isWebhookEvent == true
                }
                for (id, next, until) in try store.redeliveries() {
                    let run = try ledger.events(after: next - 1, limit: 1000).filter { $0.event.seq <= until }
                    let after = run.last.map { $0.event.seq + 1 } ?? until + 1
                    try store.redeliver(id, run.map(\.event), next: run.count < 1000 ? until + 1 : after, until: until)
                }
            } catch {
                Log.error("webhook deliveries cannot fold the log", ["error": "\(error)"])
            }
            if !busy { pause() }
        }
    }

    /// Hands due deliveries to the workers, at most one per webhook at a time.
    private func schedule() {
        while !stopping {
            let (busy, free) = state.withLock { ($0.busy, options.workers - $0.busy.count) }
            if free > 0, let due = try? store.due(now: ledger.clock.now(), busy: busy, limit: free), !due.isEmpty {
                state.withLock { s in
                    for job in due {
                        s.busy.insert(job.webhook.id)
                        s.queue.append(job)
                    }
                }
                for _ in due { jobs.signal() }
            }
            pause()
        }
    }

    private func work() {
        while true {
            jobs.wait()
            guard let job = state.withLock({ s -> DeliveryJob? in s.queue.isEmpty ? nil : s.queue.removeFirst() })
            else {
                if stopping { return }
                continue
            }
            deliver(job)
            state.withLock { _ = $0.busy.remove(job.webhook.id) }
        }
    }

    /// One attempt of one event, recorded.
    func deliver(_ job: DeliveryJob) {
        let stored: EventLog.Stored?
        do {
            stored = try ledger.event(at: job.seq)
        } catch {
            return
        }
        guard let stored else { return }
        let eventID = ChainedRecord.eventID(stored.hash)
        let body = WebhookSignature.body((stored.event, stored.prevHash, stored.hash))
        let now = ledger.clock.now()
        let secret = key.secretBytes(job.webhook.id, version: job.webhook.secretVersion)
        let headers =
            WebhookSignature.headers(id: eventID, timestamp: now / 1_000_000, body: body, secret: secret)
            + [("User-Agent", "KeyLedger-Webhooks/1")]
        let clock = ledger.clock
        let result = OutboundClient.post(
            url: job.webhook.url, headers: headers, body: body, options: options.outbound,
            nowMs: { Int(clock.monotonicNanos() / 1_000_000) })
        let outcome = DeliveryOutcome(
            status: result.status, durationMs: result.durationMs,
            error: result.error ?? (result.isSuccess ? nil : "the receiver answered \(result.status)"))
        guard let recorded = try? store.record(job, eventID: eventID, result: outcome, now: ledger.clock.now()) else {
            return
        }
        if recorded.disable { disable(job.webhook.id) }
    }

    /// Appends `webhook.disabled` through the writer, once.
    private func disable(_ id: WebhookID) {
        let first = state.withLock { $0.disabling.insert(id).inserted }
        guard first else { return }
        ledger.submitWebhook(
            .disable(id, reason: "failing for 5 days"), context: CommandContext(actor: .deliverer)
        ) { [self] _ in state.withLock { _ = $0.disabling.remove(id) } }
    }
}
