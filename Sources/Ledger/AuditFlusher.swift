import Dispatch
import Events

/// Appends the ``AuditTrail``'s records whose minute is over, every few seconds, on a
/// thread of its own; at close, every pending record.
final class AuditFlusher: @unchecked Sendable {
    // Safe to share: `stopping` and `finished` are only touched with `condition` locked;
    // the rest is immutable and Sendable.
    private let condition = Condition()
    private var stopping = false
    private var finished = false
    private let trail: AuditTrail
    private let clock: any LedgerClock
    /// Seconds between looks at the trail: a pending count waits at most this past its minute.
    static let interval = 5.0

    init(trail: AuditTrail, writer: Writer, clock: any LedgerClock) {
        self.trail = trail
        self.clock = clock
        // Holds itself until ``stop(flushingInto:)``: a ledger dropped unclosed leaks the thread, never a dangling self.
        DispatchQueue(label: "keyledger-audit-flush").async { self.run(writer) }
    }

    private func run(_ writer: Writer) {
        condition.lock()
        while !stopping {
            _ = condition.wait(until: MonotonicTime.now().adding(seconds: Self.interval))
            if stopping { break }
            condition.unlock()
            append(trail.due(now: clock.now()), writer)
            condition.lock()
        }
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Ends the thread, then queues every pending record (the writer finishes its queue
    /// before it stops, so they are appended before the ledger closes).
    func stop(flushingInto writer: Writer) {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
        append(trail.drain(), writer)
    }

    private func append(_ records: [AuditRecord], _ writer: Writer) {
        guard !records.isEmpty else { return }
        let trail = self.trail
        writer.submit(
            Writer.Job(
                command: .audit(records), context: CommandContext(actor: .auditTrail),
                completion: { result, _ in
                    // Not appended: the counts wait for the next look (or are lost with the process).
                    if case .failure = result { for record in records { trail.restore(record, ownRequest: false) } }
                }))
    }
}

extension Actor {
    /// The component that appends coalesced audit records (the records carry their own actors).
    static let auditTrail = Actor(kind: .system, id: "audit-trail")
}
